import { resolve } from "node:path";
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
import { createProvider } from "./provider.js";

const cfg = configOrExit("provider", () => loadConfig());
const logger = createLogger({ name: "provider", level: cfg.LOG_LEVEL });
const otel = await startSdk("provider");
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
    await otel.shutdown();
  },
  { logger, deadlineMs: 30_000 },
);
