import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import {
  ConnectorConfigError,
  loadConnectorFile,
  startConnector,
  type Connector,
  type ConnectorDefinition,
  type LoadedConnector,
  type Source,
} from "@ferry/connector-sdk";
import { cronConnector } from "@ferry/cron-connector";
import { kafkaConnector } from "@ferry/kafka-connector";
import type { FunctionRegistry, NatsConnection } from "@ferry/jetstream";
import { createRouter, type Router } from "@ferry/router";
import type { Registry } from "@ferry/runtime";
import { s3Connector } from "@ferry/s3-connector";
import { webhookConnector } from "@ferry/webhook-connector";

/** Every connector kind the `ferry` command knows. */
export const CONNECTORS: ReadonlyArray<ConnectorDefinition<{ source?: string | undefined }>> = [
  cronConnector,
  webhookConnector,
  kafkaConnector,
  s3Connector,
];

/** The connector config files among `paths`: files as given, directories' `*.yaml` / `*.yml`. */
export async function connectorFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) files.push(path);
    else {
      const names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n)).sort();
      files.push(...names.map((n) => join(path, n)));
    }
  }
  return files;
}

/** Reads and validates every connector file; the first bad one throws a one-line error. */
export async function loadConnectors(paths: string[]): Promise<LoadedConnector[]> {
  const loaded: LoadedConnector[] = [];
  for (const file of await connectorFiles(paths))
    loaded.push(await loadConnectorFile(file, CONNECTORS));
  return loaded;
}

/** The router and the connectors, running in this process. */
export interface Events {
  router: Router;
  connectors: Connector[];
  stop(): Promise<void>;
}

/** Starts the router and each loaded connector on one NATS connection. */
export async function startEvents(opts: {
  nc: NatsConnection;
  registry: FunctionRegistry;
  logger: Logger;
  connectors: LoadedConnector[];
  env: Record<string, string | undefined>;
  /** Registry the router and connectors add their metrics to (`ferry up`: the stack's). */
  metricsRegistry?: Registry;
}): Promise<Events> {
  const metrics = opts.metricsRegistry ? { metricsRegistry: opts.metricsRegistry } : {};
  const router = await createRouter({
    nc: opts.nc,
    registry: opts.registry,
    logger: opts.logger,
    ...metrics,
  });
  const connectors: Connector[] = [];
  const stop = async (): Promise<void> => {
    for (const c of connectors) await c.stop(5_000);
    await router.stop(5_000);
  };
  try {
    for (const loaded of opts.connectors) {
      const source = createSource(loaded, opts.env);
      const logger = opts.logger.child({ connectorFile: loaded.file });
      connectors.push(
        await startConnector({
          source,
          eventSource: loaded.eventSource,
          nc: opts.nc,
          logger,
          ...metrics,
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { router, connectors, stop };
}

/** Builds a source; a problem only the environment reveals (a missing secret) names the file. */
function createSource(loaded: LoadedConnector, env: Record<string, string | undefined>): Source {
  try {
    return loaded.create(env);
  } catch (err) {
    throw new ConnectorConfigError(loaded.file, undefined, "(environment)", (err as Error).message);
  }
}
