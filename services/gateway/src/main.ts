import { jetstreamManager } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import {
  coalesceWrites,
  logConnectionErrors,
  configOrExit,
  createLogger,
  createRegistry,
  onShutdown,
} from "@ferry/runtime";
import { startSdk } from "@ferry/runtime/otel";
import { connectNats, openFunctionRegistry, provisionStreams } from "@ferry/jetstream";
import { loadConfig } from "./config.js";
import { authFromConfig } from "./credentials.js";
import { createGateway } from "./server.js";

const cfg = configOrExit("gateway", () => loadConfig());
const auth = configOrExit("gateway", () => authFromConfig(cfg));
const logger = createLogger({ name: "gateway", level: cfg.LOG_LEVEL });
const otel = await startSdk("gateway");
const nc = await connectNats({ servers: cfg.NATS_URL, name: "ferry-gateway", logger });
await provisionStreams(await jetstreamManager(nc), {
  replicas: cfg.STREAM_REPLICAS,
  dedupeWindowMs: cfg.DEDUPE_WINDOW,
  maxMsgBytes: cfg.STREAM_MAX_MSG_BYTES,
  eventsMaxAgeMs: cfg.EVENTS_MAX_AGE,
  dlqMaxAgeMs: 14 * 24 * 3_600_000,
});
const registry = await openFunctionRegistry(nc, { logger, replicas: cfg.STREAM_REPLICAS });
// A short command timeout: a slow Redis must not hold up the 202 (the call is already durable).
const redis = new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
coalesceWrites(redis);
logConnectionErrors(redis, logger, "redis");
const gateway = await createGateway({
  nc,
  registry,
  logger,
  maxBodyBytes: cfg.MAX_BODY_BYTES,
  publishTimeoutMs: cfg.PUBLISH_TIMEOUT,
  extraRegistries: [createRegistry({ defaults: true })],
  drainDelayMs: 2_000,
  redis,
  statusTtlSeconds: Math.ceil(cfg.STATUS_TTL / 1000),
  callbackAllowlist: cfg.CALLBACK_ALLOWLIST,
  maxInlineBytes: cfg.STREAM_MAX_MSG_BYTES - 64 * 1024,
  replicas: cfg.STREAM_REPLICAS,
  idempotencyTtlSeconds: Math.ceil(cfg.IDEMPOTENCY_TTL / 1000),
  maxDelayMs: cfg.MAX_DELAY,
  logBodies: cfg.LOG_BODIES,
  auth,
  ...(cfg.RATE_LIMIT_MAX > 0
    ? { rateLimit: { max: cfg.RATE_LIMIT_MAX, windowMs: cfg.RATE_LIMIT_WINDOW } }
    : {}),
  trustProxy: cfg.TRUST_PROXY,
  maxInflightPublishes: cfg.MAX_INFLIGHT_PUBLISHES,
  systemBodyBytes: cfg.SYSTEM_MAX_BODY_BYTES,
  maxHeaders: cfg.MAX_HEADERS,
  maxHeaderBytes: cfg.MAX_HEADER_BYTES,
  timeouts: {
    requestMs: cfg.REQUEST_TIMEOUT,
    headersMs: cfg.HEADERS_TIMEOUT,
    connectionMs: cfg.CONNECTION_TIMEOUT,
    keepAliveMs: cfg.KEEP_ALIVE_TIMEOUT,
  },
  ...(cfg.UI_DIR ? { uiDir: cfg.UI_DIR } : {}),
});
const port = await gateway.listen(cfg.PORT, cfg.HOST);
logger.info({ port, operatorAuth: !cfg.AUTH_DISABLED }, "gateway listening");

onShutdown(
  async () => {
    await gateway.close();
    await registry.close();
    await nc.drain();
    await redis.quit();
    await otel.shutdown();
  },
  { logger },
);
