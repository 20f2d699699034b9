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
import { deliveryOptionsOf, loadConfig } from "./config.js";
import { createCallbackWorker } from "./worker.js";

const cfg = configOrExit("callbacks", () => loadConfig());
const delivery = configOrExit("callbacks", () => deliveryOptionsOf(cfg));
const logger = createLogger({ name: "callbacks", level: cfg.LOG_LEVEL });
const otel = await startSdk("callbacks");
const redis = new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: null });
coalesceWrites(redis);
const bullRedis = new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: null });
logConnectionErrors(redis, logger, "redis");
logConnectionErrors(bullRedis, logger, "redis-queue");
const metricsRegistry = createRegistry();
const worker = createCallbackWorker({
  redis,
  bullRedis,
  logger,
  concurrency: cfg.CONCURRENCY,
  ...delivery,
  metricsRegistry,
});
let stopping = false;
const health = await startHealthServer({
  port: cfg.HEALTH_PORT,
  ready: () => !stopping && redis.status === "ready",
  registries: [metricsRegistry, createRegistry({ defaults: true })],
});
logger.info({ healthPort: health.port }, "callbacks started");

onShutdown(
  async () => {
    stopping = true;
    await worker.stop();
    await Promise.all([redis.quit(), bullRedis.quit()]);
    await health.close();
    await otel.shutdown();
  },
  { logger },
);
