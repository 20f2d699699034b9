import { resolve } from "node:path";
import { ConfigError, createLogger, onShutdown } from "@ferry/runtime";
import { connectNats, openFunctionRegistry } from "@ferry/jetstream";
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
const provider = await createProvider({
  nc,
  registry,
  logger,
  baseDir: resolve(cfg.FUNCTIONS_DIR),
  tickMs: cfg.SCALE_INTERVAL,
  scaleDownDelayMs: cfg.SCALE_DOWN_DELAY,
  healthEveryMs: cfg.HEALTH_INTERVAL,
  replicas: cfg.STREAM_REPLICAS,
});

onShutdown(
  async () => {
    await provider.close();
    await registry.close();
    await nc.drain();
  },
  { logger, deadlineMs: 30_000 },
);
