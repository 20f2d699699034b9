import { z } from "zod";
import { Duration, Port, parseEnv } from "@ferry/runtime";

/** Router configuration, read from environment variables. */
export const RouterConfig = z.object({
  /** NATS server URLs, comma-separated. */
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  /** Port of `/healthz`, `/readyz` and `/metrics`. */
  HEALTH_PORT: Port.default(8084),
  /** Events fanned out at once. */
  MAX_INFLIGHT: z.coerce.number().int().positive().max(10_000).default(64),
  /** Lease of a delivered event; an event not acked in time is redelivered (and deduped). */
  ACK_WAIT: Duration.default(30_000),
  /** Longest wait for each invocation's publish ack. */
  PUBLISH_TIMEOUT: Duration.default(5_000),
  /** pino log level. */
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});
export type RouterConfig = z.infer<typeof RouterConfig>;

/** Reads the router's configuration; throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RouterConfig {
  return parseEnv(RouterConfig, env);
}
