import { z } from "zod";
import { Duration, Port, parseEnv } from "@ferry/runtime";

/** Callbacks service configuration, read from environment variables. */
export const CallbacksConfig = z.object({
  /** Redis URL of the callback queue and call status. */
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  /** Deliveries in flight at once. */
  CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(50),
  /** Timeout of one delivery attempt. */
  CALLBACK_TIMEOUT: Duration.default(10_000),
  /** Port of /healthz, /readyz and /metrics. */
  HEALTH_PORT: Port.default(8083),
  /** pino log level. */
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});
export type CallbacksConfig = z.infer<typeof CallbacksConfig>;

/** Reads the configuration; throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CallbacksConfig {
  return parseEnv(CallbacksConfig, env);
}
