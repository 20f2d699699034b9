import { z } from "zod";
import { Duration, Port, parseEnv } from "@ferry/runtime";

const list = z.string().transform((s) =>
  s
    .split(/[\s,]+/)
    .map((v) => v.trim())
    .filter(Boolean),
);

/** Callbacks service configuration, read from environment variables. */
export const CallbacksConfig = z.object({
  /** Redis URL of the callback queue and call status. */
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  /** Deliveries in flight at once. */
  CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(50),
  /** Timeout of one delivery attempt. */
  CALLBACK_TIMEOUT: Duration.default(10_000),
  /** Delivery attempts in all, the first included. */
  CALLBACK_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  /** Wait before the second attempt; doubles with each attempt (with jitter). */
  CALLBACK_BACKOFF: Duration.default(10_000),
  /** Longest wait between attempts, also the cap on a receiver's Retry-After. */
  CALLBACK_BACKOFF_MAX: Duration.default(15 * 60_000),
  /** `whsec_` secrets, comma-separated; each callback carries a signature per secret. */
  CALLBACK_SIGNING_SECRETS: list
    .pipe(z.array(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, "must be whsec_<base64>")))
    .default([]),
  /** Hosts, addresses and CIDRs callbacks may reach although private or loopback. */
  CALLBACK_ALLOWLIST: list.default([]),
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
