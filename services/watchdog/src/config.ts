import { z } from "zod";
import { parse as parseShell } from "shell-quote";
import { Bool, ConfigError, Port, parseDuration, parseEnv } from "@ferry/runtime";

/** How the watchdog runs the function; one runner per mode. */
export const Mode = { Http: "http", Fork: "fork", Stream: "stream", Static: "static" } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** of-watchdog's mode names, accepted so that existing function specs keep working. */
const MODE_ALIASES: Record<string, Mode> = { streaming: "stream", serializing: "fork" };

/**
 * Parses a timeout as of-watchdog does: a bare number is seconds (`30`), otherwise a duration
 * (`500ms`, `30s`, `5m`). Returns milliseconds, or `undefined` if it is neither.
 */
export function parseSeconds(value: string): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  return parseDuration(trimmed);
}

const Seconds = z.string().transform((value, ctx) => {
  const ms = parseSeconds(value);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `not a duration: "${value}" (use 30, 30s or 500ms)` });
    return z.NEVER;
  }
  return ms;
});

const Count = z.coerce.number().int().min(0);

/** The watchdog's environment variables, with of-watchdog's names and defaults. */
const EnvSchema = z.object({
  /** Command line of the function process; shell-like quoting, `sh -c` if it uses pipes or `$VARS`. */
  fprocess: z.string().optional(),
  /** http, fork, stream or static; `streaming` and `serializing` are of-watchdog aliases. */
  mode: z
    .enum(["http", "fork", "stream", "static", "streaming", "serializing"])
    .default("http")
    .transform((m): Mode => MODE_ALIASES[m] ?? (m as Mode)),
  /** http mode: where the function process listens, e.g. `http://127.0.0.1:3000`. */
  upstream_url: z.url({ protocol: /^http$/ }).optional(),
  /** Port the watchdog listens on; 0 picks a free one (logged in the ready line). */
  port: Port.default(8080),
  /** Longest time to read a whole request, headers and body; 0 disables. */
  read_timeout: Seconds.default(10_000),
  /** Idle time allowed while writing a response, and the drain deadline at shutdown. */
  write_timeout: Seconds.default(10_000),
  /** Longest a call may run before it is answered 504 and its process killed; 0 disables. */
  exec_timeout: Seconds.default(10_000),
  /** Calls served at once; more are answered 429. 0 means no limit. */
  max_inflight: Count.default(0),
  /** Wait between failing readiness and closing the server at shutdown; default write_timeout. */
  healthcheck_interval: Seconds.optional(),
  /** Log function output as structured lines (true) or copy it to stderr unchanged (false). */
  prefix_logs: Bool.default(true),
  /** Longest function log line in bytes; longer lines are split. */
  log_buffer_size: Count.min(1).default(64 * 1024),
  /** fork/stream: response Content-Type; default the request's, else application/octet-stream. */
  content_type: z.string().optional(),
  /** Do not write the lock file that exec health probes look for. */
  suppress_lock: Bool.default(false),
  /** Where the lock file goes; default `<tmpdir>/.lock` as of-watchdog. */
  lock_file: z.string().optional(),
  /** static mode: directory served. */
  static_path: z.string().optional(),
  /** http mode: upstream path that answers `/_/ready` for the function. */
  ready_path: z.string().startsWith("/").optional(),
  /** fork/stream: processes kept started and waiting on stdin; 0 spawns one per call. */
  pool_size: Count.max(1000).default(0),
  /** fork/stream: helper processes that start function processes off the event loop; 0 forks from the watchdog. */
  spawners: Count.max(16).default(2),
  /** fork/stream: start function processes with the built native helper (posix_spawn); false, or not built, uses `spawners`. */
  native_spawner: Bool.default(true),
  /** Port of the Prometheus `/metrics` server; 0 picks a free one, `off` disables it. */
  metrics_port: z
    .union([z.literal("off"), Port])
    .default(8081)
    .transform((p) => (p === "off" ? null : p)),
});

/** The function process to start: executable and arguments. */
export interface Command {
  file: string;
  args: string[];
}

/** Validated watchdog configuration; durations in milliseconds. */
export type WatchdogConfig = Omit<
  z.infer<typeof EnvSchema>,
  "fprocess" | "healthcheck_interval"
> & {
  /** The parsed `fprocess`; undefined only in static mode. */
  fprocess: Command | undefined;
  healthcheck_interval: number;
};

/** Reads the configuration from environment variables; throws {@link ConfigError} naming each bad one. */
export function loadConfig(env: Record<string, string | undefined>): WatchdogConfig {
  const raw = parseEnv(EnvSchema, env);
  const fail = (name: string, reason: string): never => {
    throw new ConfigError(`invalid configuration: ${name}: ${reason}`, [`${name}: ${reason}`]);
  };
  if (raw.mode !== "static" && !raw.fprocess) fail("fprocess", `required in ${raw.mode} mode`);
  if (raw.mode === "http" && !raw.upstream_url) fail("upstream_url", "required in http mode");
  if (raw.mode === "static" && !raw.static_path) fail("static_path", "required in static mode");
  const fprocess = raw.fprocess === undefined ? undefined : parseCommand(raw.fprocess);
  if (fprocess === null) fail("fprocess", "empty command");
  return {
    ...raw,
    fprocess: fprocess ?? undefined,
    healthcheck_interval: raw.healthcheck_interval ?? raw.write_timeout,
  };
}

/**
 * Splits a command line with shell quoting. Pipes, redirections, globs and `$VARS` need a real
 * shell, so such a line runs as `sh -c <line>` rather than being half-interpreted here.
 */
export function parseCommand(line: string): Command | null {
  let usesVariables = false;
  const entries = parseShell(line, () => {
    usesVariables = true;
    return "";
  });
  const plain = entries.every((e): e is string => typeof e === "string");
  if (!plain || usesVariables) return { file: "sh", args: ["-c", line] };
  const [file, ...args] = entries as string[];
  return file ? { file, args } : null;
}
