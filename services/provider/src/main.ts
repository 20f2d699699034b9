import { resolve } from "node:path";
import {
  ConfigError,
  createLogger,
  createRegistry,
  onShutdown,
  startHealthServer,
} from "@ferry/runtime";
import { connectNats, isConnected, openFunctionRegistry } from "@ferry/jetstream";
import { loadConfig, type ProviderConfig } from "./config.js";
import { createProvider } from "./provider.js";

function config(): ProviderConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`provider: ${err.message}\n`);
    process.exit(1);
  }
}

const cfg = config();
const logger = createLogger({ name: "provider", level: cfg.LOG_LEVEL });
const nc = await connectNats({ servers: cfg.NATS_URL, name: "ferry-provider", logger });
const registry = await openFunctionRegistry(nc, { logger, replicas: cfg.STREAM_REPLICAS });
const metricsRegistry = createRegistry();
const provider = await createProvider({
  metricsRegistry,
  nc,
  registry,
  logger,
  baseDir: resolve(cfg.FUNCTIONS_DIR),
  tickMs: cfg.SCALE_INTERVAL,
  scaleDownDelayMs: cfg.SCALE_DOWN_DELAY,
  healthEveryMs: cfg.HEALTH_INTERVAL,
  replicas: cfg.STREAM_REPLICAS,
});

let stopping = false;
const health = await startHealthServer({
  port: cfg.HEALTH_PORT,
  ready: () => !stopping && isConnected(nc),
  registries: [metricsRegistry, createRegistry({ defaults: true })],
});
logger.info({ healthPort: health.port }, "provider started");

onShutdown(
  async () => {
    stopping = true;
    await provider.close();
    await registry.close();
    await nc.drain();
    await health.close();
  },
  { logger, deadlineMs: 30_000 },
);
