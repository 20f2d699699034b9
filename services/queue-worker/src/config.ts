import { z } from "zod";
import { CallbackDeliveryConfig } from "@ferry/callbacks";
import { Bool, Duration, Port, parseEnv } from "@ferry/runtime";

/**
 * Queue-worker configuration, read from environment variables. The `CALLBACK_*` delivery settings
 * are the callbacks service's (the worker makes each callback's first attempt): give both the same.
 */
export const WorkerConfig = CallbackDeliveryConfig.extend({
  /** NATS server URLs, comma-separated. */
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  /** Redis URL for call status, results and the callback queue. */
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  /** Queues to serve, comma-separated; empty serves every queue functions name. */
  QUEUES: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((q) => q.trim())
        .filter(Boolean),
    )
    .optional(),
  /** Calls run at once, per queue, by this worker. */
  MAX_INFLIGHT: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Lease of a delivered call: redelivered when neither acked nor extended within this time. */
  ACK_WAIT: Duration.default(10_000),
  /** Consumer's hard cap on deliveries; -1 (default) leaves it to the retry policy, which dead-letters. */
  MAX_DELIVER: z.coerce.number().int().min(-1).default(-1),
  /** Calls delivered and not yet acked, across all workers of a queue. */
  MAX_ACK_PENDING: z.coerce.number().int().min(1).default(10_000),
  /** Default runs of a call, the first included (a function's `retry.attempts` overrides). */
  RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** Default backoff: `exponential` or `fixed`. */
  RETRY_BACKOFF: z.enum(["exponential", "fixed"]).default("exponential"),
  /** Default jitter: `full`, `equal` or `none`. */
  RETRY_JITTER: z.enum(["full", "equal", "none"]).default("full"),
  /** Default wait before the first retry. */
  RETRY_MIN_WAIT: Duration.default(1_000),
  /** Default longest wait between attempts. */
  RETRY_MAX_WAIT: Duration.default(300_000),
  /** Default retried statuses, comma-separated (connection and watchdog errors always are). */
  RETRY_CODES: z
    .string()
    .regex(/^\s*\d{3}(\s*,\s*\d{3})*\s*$/, "a comma-separated list of HTTP statuses")
    .transform((s) => s.split(",").map((c) => Number(c.trim())))
    .default([408, 429, 500, 502, 503, 504]),
  /** Waits longer than this (retries, X-Delay) leave the consumer and are parked in Redis. */
  PARK_AFTER: Duration.default(30_000),
  /** Life of a per-function concurrency slot without renewal (a dead worker's slots come back). */
  CONCURRENCY_SLOT_TTL: Duration.default(15_000),
  /** How long call status and results are kept. */
  STATUS_TTL: Duration.default(86_400_000),
  /** Results larger than this are delivered but not stored (bytes). */
  MAX_STORED_RESULT_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(1024 * 1024),
  /** Longest wait for running calls at shutdown before they are handed back. */
  SHUTDOWN_DEADLINE: Duration.default(30_000),
  /** Make each callback's first delivery attempt here (false: every attempt is the service's). */
  CALLBACK_FIRST_ATTEMPT: Bool.default(true),
  /** Timeout of that attempt; a slower receiver is left to the callbacks service. */
  CALLBACK_FIRST_TIMEOUT: Duration.default(2_000),
  /** Port of /healthz, /readyz and /metrics. */
  HEALTH_PORT: Port.default(8082),
  /** JetStream replicas of the function registry bucket. */
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** pino log level. */
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});
export type WorkerConfig = z.infer<typeof WorkerConfig>;

/** Reads the worker's configuration; throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseEnv(WorkerConfig, env);
}
