import { z } from "zod";
import { Duration, Port, parseEnv } from "@ferry/runtime";

/** Gateway configuration, read from environment variables. */
export const GatewayConfig = z.object({
  /** Port of the HTTP API. */
  PORT: Port.default(8080),
  /** Interface to bind. */
  HOST: z.string().default("0.0.0.0"),
  /** NATS server URLs, comma-separated. */
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  /** Largest request body accepted, in bytes (at most the stream's message limit for now). */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024 - 64 * 1024),
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
  /** Redis for idempotency keys and cancels; unset turns both off. */
  REDIS_URL: z.string().optional(),
  /** How long an `Idempotency-Key` (and a cancel) is remembered. */
  IDEMPOTENCY_TTL: Duration.default(86_400_000),
  /** Longest `X-Delay` / `X-Not-Before` a call may ask for. */
  MAX_DELAY: Duration.default(86_400_000),
  /** pino log level. */
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});
export type GatewayConfig = z.infer<typeof GatewayConfig>;

/** Reads the gateway's configuration; throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return parseEnv(GatewayConfig, env);
}
