import { z } from "zod";
import { Duration, Port, parseEnv } from "@ferry/runtime";

/** Provider configuration, read from environment variables. */
export const ProviderConfig = z.object({
  /** NATS server URLs, comma-separated. */
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  /** Base directory of relative `workdir` and `staticPath` settings in function specs. */
  FUNCTIONS_DIR: z.string().default("."),
  /** Period of the autoscaler. */
  SCALE_INTERVAL: Duration.default(500),
  /** Time a lower replica count must hold before one replica is removed. */
  SCALE_DOWN_DELAY: Duration.default(10_000),
  /** Period of replica health checks (three failures in a row replace a replica). */
  HEALTH_INTERVAL: Duration.default(1_000),
  /** Port of `/healthz`, `/readyz` and `/metrics`. */
  HEALTH_PORT: Port.default(8084),
  /** KV bucket replicas: 1 for one server, 3 in a cluster. */
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** pino log level. */
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});
export type ProviderConfig = z.infer<typeof ProviderConfig>;

/** Reads the provider's configuration; throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ProviderConfig {
  return parseEnv(ProviderConfig, env);
}
