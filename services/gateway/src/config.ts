import { z } from "zod";
import { Bool, ConfigError, Duration, Port, parseEnv } from "@ferry/runtime";

const csv = z.string().transform((s) => s.split(/[\s,]+/).filter(Boolean));

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
  /** Bearer tokens with every right (/system, /ui, /metrics, all functions), comma-separated. */
  AUTH_TOKENS: csv.default([]),
  /** File of such tokens, one per line (`#` comments); e.g. a mounted Secret. */
  AUTH_TOKENS_FILE: z.string().optional(),
  /** Basic-auth `user:password` pairs with every right (the dashboard in a browser), comma-separated. */
  AUTH_USERS: csv.default([]),
  /** File of such pairs, one per line. */
  AUTH_USERS_FILE: z.string().optional(),
  /** Tokens that may only invoke `auth: token` functions: `token` (any) or `function:token` (one). */
  INVOKE_TOKENS: csv.default([]),
  /** File of such tokens, one per line. */
  INVOKE_TOKENS_FILE: z.string().optional(),
  /** Run with /system, /ui and /metrics open (no AUTH_* set); only behind another guard. */
  AUTH_DISABLED: Bool.default(false),
  /** Requests per client address per RATE_LIMIT_WINDOW, shared in Redis by all replicas; 0 = off. */
  RATE_LIMIT_MAX: z.coerce.number().int().min(0).default(0),
  /** Window of RATE_LIMIT_MAX. */
  RATE_LIMIT_WINDOW: Duration.default(60_000),
  /** Take the client address from X-Forwarded-For (set when a proxy or ingress is in front). */
  TRUST_PROXY: Bool.default(false),
  /** Publishes in flight at once; beyond, 503 with Retry-After instead of buffering. */
  MAX_INFLIGHT_PUBLISHES: z.coerce.number().int().positive().default(1000),
  /** Largest body of a /system request, in bytes. */
  SYSTEM_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Most headers a request may carry (431 beyond). */
  MAX_HEADERS: z.coerce.number().int().min(1).max(1000).default(100),
  /** Largest size of all request headers together, in bytes (431 beyond). */
  MAX_HEADER_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(16 * 1024),
  /** Longest time to receive a whole request, headers and body (408 beyond); cuts off slow clients. */
  REQUEST_TIMEOUT: Duration.default(60_000),
  /** Longest time to receive the request headers (408 beyond); at most REQUEST_TIMEOUT. */
  HEADERS_TIMEOUT: Duration.default(10_000),
  /** Idle socket timeout; 0 = none. */
  CONNECTION_TIMEOUT: Duration.default(0),
  /** How long an idle keep-alive connection stays open. */
  KEEP_ALIVE_TIMEOUT: Duration.default(72_000),
  /** Directory of the dashboard's built files (`services/dashboard/dist/ui`), served at `/ui`; empty: no dashboard. */
  UI_DIR: z.string().default(""),
  /** pino log level. */
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});
export type GatewayConfig = z.infer<typeof GatewayConfig>;

/** Variables that give the gateway credentials; one of them (or AUTH_DISABLED) must be set. */
export const AUTH_VARIABLES = [
  "AUTH_TOKENS",
  "AUTH_TOKENS_FILE",
  "AUTH_USERS",
  "AUTH_USERS_FILE",
] as const;

/**
 * Reads the gateway's configuration; throws a ConfigError naming each bad variable, and when no
 * credentials protect /system, /ui and /metrics unless AUTH_DISABLED=true says so.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const cfg = parseEnv(GatewayConfig, env);
  if (!cfg.AUTH_DISABLED && !hasCredentials(cfg)) {
    const message =
      `no credentials for /system, /ui and /metrics: set ${AUTH_VARIABLES.join(", ")}` +
      " (or AUTH_DISABLED=true to leave them open behind another guard)";
    throw new ConfigError(`invalid configuration: ${message}`, [message]);
  }
  return cfg;
}

function hasCredentials(cfg: GatewayConfig): boolean {
  return (
    cfg.AUTH_TOKENS.length > 0 ||
    cfg.AUTH_USERS.length > 0 ||
    cfg.AUTH_TOKENS_FILE !== undefined ||
    cfg.AUTH_USERS_FILE !== undefined
  );
}
