import { z } from "zod";
import { DEFAULT_QUEUE } from "./subjects.js";
import { FunctionName, QueueName } from "./names.js";
import { TopicPattern } from "./events.js";
import { Destination } from "./destinations.js";

/** Watchdog modes (see services/watchdog). */
export const WatchdogMode = {
  Http: "http",
  Fork: "fork",
  Stream: "stream",
  Static: "static",
} as const;
export type WatchdogMode = (typeof WatchdogMode)[keyof typeof WatchdogMode];

const durationMs = z
  .union([
    z.number().int().positive(),
    z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, "must be a duration like 500ms, 30s, 5m or 1h"),
  ])
  .transform((v) => (typeof v === "number" ? v : toMs(v)));

function toMs(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match?.[2] as "ms"] ?? 1;
  return Math.round(Number(match?.[1]) * unit);
}

/** How the function process is run behind its watchdog. */
export const WatchdogSpec = z.strictObject({
  /** Command line of the function process, with shell-like quoting. */
  fprocess: z.string().min(1).optional(),
  /** Watchdog mode. */
  mode: z.enum(["http", "fork", "stream", "static"]).default("http"),
  /** http mode: where the function process listens. Default: a free port, given to it as PORT. */
  upstreamUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** static mode: directory to serve. */
  staticPath: z.string().optional(),
  /** fork/stream: processes kept started and waiting. */
  poolSize: z.number().int().min(0).max(1000).optional(),
  /** Working directory of the function process, relative to the functions file. */
  workdir: z.string().optional(),
});
export type WatchdogSpec = z.infer<typeof WatchdogSpec>;

/** Who may invoke a function: anyone (`none`) or callers with a bearer token (`token`). */
export const FunctionAuth = { None: "none", Token: "token" } as const;
export type FunctionAuth = (typeof FunctionAuth)[keyof typeof FunctionAuth];

/** An environment variable name. */
const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "must be an environment variable name");

/**
 * Where a secret of a function comes from: an environment variable or a file of the process
 * that starts the function. Only this reference is stored and shown, never the value.
 */
export const SecretRef = z.union([
  z.strictObject({ /** Variable of the provider's environment. */ env: EnvName }),
  z.strictObject({ /** File read when the function starts. */ file: z.string().min(1).max(4096) }),
]);
export type SecretRef = z.infer<typeof SecretRef>;

/** A function's own rate limit: calls of all callers together per window. */
export const FunctionRateLimit = z.strictObject({
  /** Calls accepted per window; more get 429 with `Retry-After`. */
  max: z.number().int().min(1).max(1_000_000_000),
  /** Length of the window. */
  window: durationMs.default(60_000),
});
export type FunctionRateLimit = z.infer<typeof FunctionRateLimit>;

/** Backoff shapes of the retry policy. */
export const RetryBackoff = { Exponential: "exponential", Fixed: "fixed" } as const;
export type RetryBackoff = (typeof RetryBackoff)[keyof typeof RetryBackoff];

/** Jitter of retry waits: `full` picks in [0, wait], `equal` in [wait/2, wait], `none` none. */
export const RetryJitter = { Full: "full", Equal: "equal", None: "none" } as const;
export type RetryJitter = (typeof RetryJitter)[keyof typeof RetryJitter];

/** A function's retry policy; a field left out takes the worker's default (RETRY_* variables). */
export const RetryPolicy = z.strictObject({
  /** Runs of a call in all, the first included (1 = never retried). */
  attempts: z.number().int().min(1).max(100).optional(),
  /** `exponential` doubles the wait from `minWait` on each attempt; `fixed` waits `minWait`. */
  backoff: z.enum(["exponential", "fixed"]).optional(),
  /** How the wait is randomised so that failed calls do not come back in step. */
  jitter: z.enum(["full", "equal", "none"]).optional(),
  /** Wait before the first retry. */
  minWait: durationMs.optional(),
  /** Longest wait between two attempts (`Retry-After` may ask for more, up to a cap). */
  maxWait: durationMs.optional(),
  /** HTTP statuses that are retried; connection errors and watchdog errors always are. */
  codes: z.array(z.number().int().min(100).max(599)).optional(),
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;

/** One function: what to run and how to call it. Shared by the CLI, the gateway and workers. */
export const FunctionSpec = z
  .strictObject({
    /** Unique name; the URL path segment and part of NATS subjects. */
    name: FunctionName,
    /** Queue its async calls wait in, so one busy function cannot block the others. */
    queue: QueueName.default(DEFAULT_QUEUE),
    /** A function already served at this URL (no watchdog started). */
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** A function run behind Ferry's watchdog. */
    watchdog: WatchdogSpec.optional(),
    /** Environment of the function process: configuration, shown by the API (no secrets here). */
    env: z.record(z.string(), z.string()).default({}),
    /** Secret environment of the function process, by reference; the values are never stored. */
    secrets: z.record(EnvName, SecretRef).optional(),
    /** Who may invoke it; `token` needs a bearer token (see the gateway's INVOKE_TOKENS). */
    auth: z.enum(["none", "token"]).optional(),
    /** Calls of all callers together per window; more get 429. */
    rateLimit: FunctionRateLimit.optional(),
    /** Longest a single run may take. */
    timeout: durationMs.default(60_000),
    /** Largest request body accepted for this function, in bytes. */
    maxBodyBytes: z.number().int().positive().optional(),
    /** Event topics that invoke this function (NATS wildcards `*` and `>` allowed). */
    triggers: z.array(TopicPattern).optional(),
    /** Where the result of a succeeded call goes (a function invoked with it, or a topic). */
    onSuccess: Destination.optional(),
    /** Where the result of a failed call goes (a function invoked with it, or a topic). */
    onFailure: Destination.optional(),
    /** Retries of failed calls; defaults from the worker's configuration. */
    retry: RetryPolicy.optional(),
    /** Calls older than this when their turn comes are not run but dead-lettered (`expired`). */
    maxAge: durationMs.optional(),
    /** Calls of this function running at once across all workers. */
    concurrency: z.number().int().min(1).max(100_000).optional(),
    /** Replicas kept running even when idle; 0 lets the function scale to zero. */
    minReplicas: z.number().int().min(0).max(100).default(1),
    /** Most replicas the provider runs. */
    maxReplicas: z.number().int().min(1).max(100).default(4),
    /** Calls (queued or running) one replica is expected to carry; more adds replicas. */
    targetInflight: z.number().int().min(1).max(100_000).default(10),
    /** Time without calls before a function with `minReplicas: 0` is scaled to zero. */
    idleTimeout: durationMs.default(300_000),
  })
  .refine((f) => (f.url === undefined) !== (f.watchdog === undefined), {
    message: "set exactly one of `url` and `watchdog`",
  })
  .refine((f) => f.minReplicas <= f.maxReplicas, {
    message: "`minReplicas` must not be above `maxReplicas`",
    path: ["minReplicas"],
  });
export type FunctionSpec = z.infer<typeof FunctionSpec>;
export type FunctionSpecInput = z.input<typeof FunctionSpec>;

/** A `functions.yaml` file: `functions` maps names to specs (the name may be left out). */
export const FunctionsFile = z.strictObject({
  /** Format version. */
  version: z.literal(1).default(1),
  /** Function specs by name; the name is validated with the spec. */
  functions: z.record(z.string(), z.record(z.string(), z.unknown())),
});
export type FunctionsFile = z.infer<typeof FunctionsFile>;
