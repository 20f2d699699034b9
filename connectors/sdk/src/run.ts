import { parseArgs } from "node:util";
import { z } from "zod";
import {
  ConfigError,
  Port,
  createLogger,
  createRegistry,
  onShutdown,
  parseEnv,
  startHealthServer,
} from "@ferry/runtime";
import { startSdk } from "@ferry/runtime/otel";
import { connectNats } from "@ferry/jetstream";
import { startConnector } from "./connector.js";
import { loadConnectorFile, type ConnectorDefinition } from "./definition.js";

/** Environment of a standalone connector process. */
export const ConnectorEnv = z.object({
  /** NATS server URLs, comma-separated. */
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  /** Connector config file, when `-c` is not given. */
  CONNECTOR_CONFIG: z.string().optional(),
  /** Port of `/healthz`, `/readyz` and `/metrics`. */
  HEALTH_PORT: Port.default(8085),
  /** pino log level. */
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

/**
 * The whole life of a connector process: config from `-c <file>` (or `CONNECTOR_CONFIG`), NATS,
 * health server, graceful shutdown on SIGTERM. A bad file or variable exits 2 with one line.
 */
export async function runConnectorProcess(
  definition: ConnectorDefinition<{ source?: string | undefined }>,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: "string", short: "c" } },
    strict: false,
  });
  let cfg: z.infer<typeof ConnectorEnv>;
  let loaded;
  let source;
  try {
    cfg = parseEnv(ConnectorEnv, env);
    const file = typeof values.config === "string" ? values.config : cfg.CONNECTOR_CONFIG;
    if (!file) throw new ConfigError("no config file: pass -c <file> or set CONNECTOR_CONFIG");
    loaded = await loadConnectorFile(file, [definition], definition.kind);
    source = loaded.create(env);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${definition.kind} connector: ${message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ name: `connector-${definition.kind}`, level: cfg.LOG_LEVEL });
  const otel = await startSdk(`connector-${definition.kind}`, env);
  const nc = await connectNats({ servers: cfg.NATS_URL, name: `ferry-${definition.kind}`, logger });
  const connector = await startConnector({
    source,
    eventSource: loaded.eventSource,
    nc,
    logger,
  });
  const health = await startHealthServer({
    port: cfg.HEALTH_PORT,
    ready: connector.ready,
    registries: [connector.metricsRegistry, createRegistry({ defaults: true })],
  });
  logger.info(
    { file: loaded.file, healthPort: health.port },
    `${definition.kind} connector running`,
  );
  onShutdown(
    async () => {
      await connector.stop(10_000);
      await health.close();
      await nc.drain();
      await otel.shutdown();
    },
    { logger },
  );
}
