import { z } from "zod";
import { readFileSync } from "node:fs";
import { ConfigError, Duration, Port, createAddressPolicy, parseEnv } from "@ferry/runtime";
import type { DeliveryOptions } from "./deliver.js";

const WHSEC = /^whsec_[A-Za-z0-9+/=]+$/;

const list = z.string().transform((s) =>
  s
    .split(/[\s,]+/)
    .map((v) => v.trim())
    .filter(Boolean),
);

/**
 * How callbacks are delivered: read by the callbacks service and by the queue-worker, which makes
 * the first attempt itself. Both must be given the same values.
 */
export const CallbackDeliveryConfig = z.object({
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
    .pipe(z.array(z.string().regex(WHSEC, "must be whsec_<base64>")))
    .default([]),
  /** File of more `whsec_` secrets, one per line (e.g. a mounted Secret); read at start. */
  CALLBACK_SIGNING_SECRETS_FILE: z.string().optional(),
  /** Hosts, addresses and CIDRs callbacks may reach although private or loopback. */
  CALLBACK_ALLOWLIST: list.default([]),
});
export type CallbackDeliveryConfig = z.infer<typeof CallbackDeliveryConfig>;

/** Callbacks service configuration, read from environment variables. */
export const CallbacksConfig = CallbackDeliveryConfig.extend({
  /** Redis URL of the callback queue and call status. */
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  /** Deliveries in flight at once. */
  CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(50),
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

/**
 * The signing secrets: CALLBACK_SIGNING_SECRETS and the lines of CALLBACK_SIGNING_SECRETS_FILE.
 * Errors name the variable and the line, never a secret.
 */
export function signingSecretsOf(cfg: CallbackDeliveryConfig): string[] {
  const path = cfg.CALLBACK_SIGNING_SECRETS_FILE;
  if (path === undefined) return cfg.CALLBACK_SIGNING_SECRETS;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(
      `invalid configuration: CALLBACK_SIGNING_SECRETS_FILE: cannot read (${code})`,
    );
  }
  const lines = text.split("\n").map((l) => l.trim());
  const secrets: string[] = [];
  lines.forEach((line, i) => {
    if (!line || line.startsWith("#")) return;
    if (!WHSEC.test(line)) {
      throw new ConfigError(
        `invalid configuration: CALLBACK_SIGNING_SECRETS_FILE: line ${i + 1} must be whsec_<base64>`,
      );
    }
    secrets.push(line);
  });
  return [...cfg.CALLBACK_SIGNING_SECRETS, ...secrets];
}

/** The delivery options of a configuration (reads the secrets file: may throw a ConfigError). */
export function deliveryOptionsOf(cfg: CallbackDeliveryConfig): DeliveryOptions {
  return {
    timeoutMs: cfg.CALLBACK_TIMEOUT,
    retry: {
      attempts: cfg.CALLBACK_ATTEMPTS,
      baseDelayMs: cfg.CALLBACK_BACKOFF,
      maxDelayMs: cfg.CALLBACK_BACKOFF_MAX,
    },
    signingSecrets: signingSecretsOf(cfg),
    addressPolicy: createAddressPolicy(cfg.CALLBACK_ALLOWLIST),
  };
}
