import { pino, type Logger, type LevelWithSilent } from "pino";

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Service name, written as `service` on every line. */
  name: string;
  /** Minimum level; `silent` turns logging off. Default `info`. */
  level?: LevelWithSilent;
  /** Pretty, coloured output. Default: only when stdout is a terminal. */
  pretty?: boolean;
}

/**
 * Fields never written to logs whatever a module logs: credentials in request headers, and
 * secrets by their usual names.
 */
export const REDACTED_PATHS: readonly string[] = [
  "req.headers.authorization",
  "req.headers.cookie",
  "req.headers['proxy-authorization']",
  "headers.authorization",
  "headers.cookie",
  "headers['proxy-authorization']",
  "*.headers.authorization",
  "authorization",
  "password",
  "token",
  "secret",
  "*.password",
  "*.token",
  "*.secret",
  "*.secrets",
  "signingSecrets",
];

/** One pino logger per process; modules take `logger.child({ component })`. */
export function createLogger(opts: LoggerOptions): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  return pino({
    name: opts.name,
    level: opts.level ?? "info",
    base: { service: opts.name },
    redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}

export type { Logger };
