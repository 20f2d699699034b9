import { Redis } from "ioredis";
import {
  coalesceWrites,
  logConnectionErrors,
  configOrExit,
  createLogger,
  createRegistry,
  onShutdown,
  startHealthServer,
} from "@ferry/runtime";
import { startSdk } from "@ferry/runtime/otel";
import { connectNats, isConnected, openFunctionRegistry } from "@ferry/jetstream";
import { deliveryOptionsOf } from "@ferry/callbacks";
import { loadConfig } from "./config.js";
import { createQueueWorker } from "./worker.js";

const cfg = configOrExit("queue-worker", () => loadConfig());
const delivery = configOrExit("queue-worker", () => deliveryOptionsOf(cfg));
const logger = createLogger({ name: "queue-worker", level: cfg.LOG_LEVEL });
const otel = await startSdk("queue-worker");
const nc = await connectNats({ servers: cfg.NATS_URL, name: "ferry-queue-worker", logger });
const redis = new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: null });
coalesceWrites(redis);
const bullRedis = new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: null });
logConnectionErrors(redis, logger, "redis");
logConnectionErrors(bullRedis, logger, "redis-queue");
const registry = await openFunctionRegistry(nc, { logger, replicas: cfg.STREAM_REPLICAS });
const metricsRegistry = createRegistry();
const worker = await createQueueWorker({
  nc,
  redis,
  bullRedis,
  registry,
  logger,
  ...(cfg.QUEUES && cfg.QUEUES.length > 0 ? { queues: cfg.QUEUES } : {}),
  maxInflight: cfg.MAX_INFLIGHT,
  consumer: {
    ackWaitMs: cfg.ACK_WAIT,
    maxDeliver: cfg.MAX_DELIVER,
    maxAckPending: cfg.MAX_ACK_PENDING,
  },
  retry: {
    attempts: cfg.RETRY_ATTEMPTS,
    backoff: cfg.RETRY_BACKOFF,
    jitter: cfg.RETRY_JITTER,
    minWait: cfg.RETRY_MIN_WAIT,
    maxWait: cfg.RETRY_MAX_WAIT,
    codes: cfg.RETRY_CODES,
  },
  parkAfterMs: cfg.PARK_AFTER,
  slotTtlMs: cfg.CONCURRENCY_SLOT_TTL,
  statusTtlSeconds: Math.ceil(cfg.STATUS_TTL / 1000),
  maxStoredResultBytes: cfg.MAX_STORED_RESULT_BYTES,
  ...(cfg.CALLBACK_FIRST_ATTEMPT
    ? { firstCallback: { ...delivery, firstTimeoutMs: cfg.CALLBACK_FIRST_TIMEOUT } }
    : {}),
  metricsRegistry,
});
let stopping = false;
const health = await startHealthServer({
  port: cfg.HEALTH_PORT,
  ready: () => !stopping && isConnected(nc) && redis.status === "ready",
  registries: [metricsRegistry, createRegistry({ defaults: true })],
});
logger.info({ queues: worker.queues(), healthPort: health.port }, "queue-worker started");

onShutdown(
  async () => {
    stopping = true;
    await worker.stop(cfg.SHUTDOWN_DEADLINE);
    await registry.close();
    await nc.drain();
    await Promise.all([redis.quit(), bullRedis.quit()]);
    await health.close();
    await otel.shutdown();
  },
  { logger, deadlineMs: cfg.SHUTDOWN_DEADLINE + 5_000 },
);
