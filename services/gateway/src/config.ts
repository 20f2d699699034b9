import { z } from "zod";
import { Bool, Duration, Port, parseEnv } from "@ferry/runtime";

/** Gateway configuration, read from environment variables. */
export const GatewayConfig = z.object({
  /** Port of the HTTP API. */
  PORT: Port.default(8080),
  /** Interface to bind. */
  HOST: z.string().default("0.0.0.0"),
  /** NATS server URLs, comma-separated. */
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  /** Largest request body accepted, in bytes; bodies too large for a message go to the object store. */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(32 * 1024 * 1024),
  /** Largest message the FERRY_INVOKE stream stores, in bytes (body plus headers). */
  STREAM_MAX_MSG_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** JetStream stream replicas: 1 for one server, 3 in a cluster. */
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** How long JetStream drops a repeated call id (`Nats-Msg-Id`). */
  DEDUPE_WINDOW: Duration.default(120_000),
  /** Longest wait for JetStream's publish ack before answering 503. */
  PUBLISH_TIMEOUT: Duration.default(5_000),
  /** How long FERRY_EVENTS keeps events for replay. */
  EVENTS_MAX_AGE: Duration.default(7 * 24 * 3_600_000),
  /** Redis of call status and the callback queue (status, result and /system/callbacks routes). */
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  /** How long a queued call's status is kept (as the worker's STATUS_TTL). */
  STATUS_TTL: Duration.default(86_400_000),
  /** Hosts, addresses and CIDRs callback URLs may point at although private or loopback. */
  CALLBACK_ALLOWLIST: z
    .string()
    .transform((s) => s.split(/[\s,]+/).filter(Boolean))
    .default([]),
  /** How long an `Idempotency-Key` (and a cancel) is remembered. */
  IDEMPOTENCY_TTL: Duration.default(86_400_000),
  /** Longest `X-Delay` / `X-Not-Before` a call may ask for. */
  MAX_DELAY: Duration.default(86_400_000),
  /** Log request bodies (first 4 KiB, at debug) of async calls; a debugging aid, off by default. */
  LOG_BODIES: Bool.default(false),
  /** Directory of the dashboard's built files (`services/dashboard/dist/ui`), served at `/ui`; empty: no dashboard. */
  UI_DIR: z.string().default(""),
  /** pino log level. */
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});
export type GatewayConfig = z.infer<typeof GatewayConfig>;

/** Reads the gateway's configuration; throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return parseEnv(GatewayConfig, env);
}
