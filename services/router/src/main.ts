import {
  configOrExit,
  createLogger,
  createRegistry,
  onShutdown,
  startHealthServer,
} from "@ferry/runtime";
import { startSdk } from "@ferry/runtime/otel";
import { connectNats, isConnected, openFunctionRegistry } from "@ferry/jetstream";
import { loadConfig } from "./config.js";
import { createRouter } from "./router.js";

const cfg = configOrExit("router", () => loadConfig());
const logger = createLogger({ name: "router", level: cfg.LOG_LEVEL });
const otel = await startSdk("router");
const nc = await connectNats({ servers: cfg.NATS_URL, name: "ferry-router", logger });
const registry = await openFunctionRegistry(nc, { logger });
let stopping = false;
const router = await createRouter({
  nc,
  registry,
  logger,
  maxInflight: cfg.MAX_INFLIGHT,
  ackWaitMs: cfg.ACK_WAIT,
  publishTimeoutMs: cfg.PUBLISH_TIMEOUT,
});
const health = await startHealthServer({
  port: cfg.HEALTH_PORT,
  ready: () => !stopping && isConnected(nc),
  registries: [router.metricsRegistry, createRegistry({ defaults: true })],
});
logger.info({ healthPort: health.port }, "router listening for events");

onShutdown(
  async () => {
    stopping = true;
    await router.stop(10_000);
    await registry.close();
    await health.close();
    await nc.drain();
    await otel.shutdown();
  },
  { logger },
);
