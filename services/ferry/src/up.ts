import { dirname, resolve } from "node:path";
import type { Logger } from "pino";
import { FunctionsFileError, loadFunctionsFile } from "./functions.js";
import { startReplica, type Replica } from "./replicas.js";
import { ensureServer, MissingServerError, type LocalServer } from "./servers.js";
import { startStack, type Stack } from "./stack.js";
import { loadConnectors, startEvents, type Events } from "./events.js";

/** Options of `ferry up`. */
export interface UpOptions {
  /** The functions file to run. */
  file: string;
  /** Gateway port. */
  port: number;
  /** Gateway interface. */
  host: string;
  /** Where spawned servers keep their data. */
  dataDir: string;
  /** NATS_URL / REDIS_URL, used when they answer. */
  natsUrl?: string;
  redisUrl?: string;
  /** Hosts, addresses and CIDRs callbacks may reach although private. Default 127.0.0.1. */
  callbackAllowlist?: string[];
  /** `whsec_` secrets signing callbacks. Default none. */
  signingSecrets?: string[];
  logger: Logger;
  /** Connector config files or directories of them; the router runs whenever this is given. */
  connectors?: string[];
  /** Resolves `secretEnv` names in connector files. */
  env?: Record<string, string | undefined>;
}

/** A running local stack. */
export interface Up {
  stack: Stack;
  replicas: Map<string, Replica>;
  events?: Events | undefined;
  stop(): Promise<void>;
}

/** Starts NATS and Redis if needed, every function's watchdog, and the services; returns when ready. */
export async function up(opts: UpOptions): Promise<Up> {
  const { logger } = opts;
  const specs = await loadFunctionsFile(opts.file);
  const connectors = opts.connectors ? await loadConnectors(opts.connectors) : undefined;
  let events: Events | undefined;
  const servers: LocalServer[] = [];
  const replicas = new Map<string, Replica>();
  const stopAll = async (stack?: Stack): Promise<void> => {
    await events?.stop();
    await stack?.stop();
    await Promise.all([...replicas.values()].map((r) => r.stop()));
    for (const server of servers.reverse()) await server.stop();
  };
  try {
    const nats = await ensureServer("nats", opts.natsUrl, opts.dataDir, logger);
    servers.push(nats);
    const redis = await ensureServer("redis", opts.redisUrl, opts.dataDir, logger);
    servers.push(redis);
    const baseDir = dirname(resolve(opts.file));
    for (const spec of specs.filter((s) => s.watchdog)) {
      replicas.set(spec.name, await startReplica(spec, baseDir, logger));
    }
    const stack = await startStack({
      natsUrl: nats.url,
      redisUrl: redis.url,
      logger,
      port: opts.port,
      host: opts.host,
      resolveEndpoint: (spec) => replicas.get(spec.name)?.url ?? spec.url,
      // Local use: callbacks to a listener on this machine are the point.
      callbackAllowlist: opts.callbackAllowlist ?? ["127.0.0.1"],
      signingSecrets: opts.signingSecrets ?? [],
    });
    for (const spec of specs) await stack.registry.put(spec);
    if (connectors) {
      const env = opts.env ?? {};
      events = await startEvents({
        nc: stack.nc,
        registry: stack.registry,
        logger,
        connectors,
        env,
      });
    }
    return { stack, replicas, events, stop: () => stopAll(stack) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export { FunctionsFileError, MissingServerError };
