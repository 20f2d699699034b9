import {
  ConfigError,
  createLogger,
  createRegistry,
  onShutdown,
  startHealthServer,
} from "@ferry/runtime";
import { connectNats, isConnected, openFunctionRegistry } from "@ferry/jetstream";
import { loadConfig, type RouterConfig } from "./config.js";
import { createRouter } from "./router.js";

function config(): RouterConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`router: ${err.message}\n`);
    process.exit(1);
  }
}

const cfg = config();
const logger = createLogger({ name: "router", level: cfg.LOG_LEVEL });
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
  },
  { logger },
);
