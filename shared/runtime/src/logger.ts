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

/** One pino logger per process; modules take `logger.child({ component })`. */
export function createLogger(opts: LoggerOptions): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  return pino({
    name: opts.name,
    level: opts.level ?? "info",
    base: { service: opts.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}

export type { Logger };
