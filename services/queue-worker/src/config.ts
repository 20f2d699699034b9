import { z } from "zod";
import { Duration, Port, parseEnv } from "@ferry/runtime";

/** Queue-worker configuration, read from environment variables. */
export const WorkerConfig = z.object({
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
  ACK_WAIT: Duration.default(30_000),
  /** Deliveries of a call before it is given up. */
  MAX_DELIVER: z.coerce.number().int().min(1).default(10),
  /** Calls delivered and not yet acked, across all workers of a queue. */
  MAX_ACK_PENDING: z.coerce.number().int().min(1).default(10_000),
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
