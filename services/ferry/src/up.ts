import { dirname, resolve } from "node:path";
import type { Logger } from "pino";
import type { FunctionSpec } from "@ferry/contracts";
import { sleep } from "@ferry/runtime";
import { ensureDashboardBuilt } from "@ferry/dashboard";
import { FunctionsFileError, loadFunctionsFile } from "./functions.js";
import { ensureServer, MissingServerError, type LocalServer } from "./servers.js";
import { startStack, type GatewaySecurity, type Stack } from "./stack.js";
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
  /** The gateway's credentials, limits and timeouts. Default none (open). */
  gatewaySecurity?: GatewaySecurity;
  /** Serve the dashboard at `/ui`, building it first when missing or stale. Default true. */
  ui?: boolean;
}

/** A running local stack. */
export interface Up {
  stack: Stack;
  events?: Events | undefined;
  stop(): Promise<void>;
}

/** Starts NATS and Redis if needed, the services and the provider; returns when the functions are up. */
export async function up(opts: UpOptions): Promise<Up> {
  const { logger } = opts;
  const specs = await loadFunctionsFile(opts.file);
  const connectors = opts.connectors ? await loadConnectors(opts.connectors) : undefined;
  let events: Events | undefined;
  const servers: LocalServer[] = [];
  const stopAll = async (stack?: Stack): Promise<void> => {
    await events?.stop();
    await stack?.stop();
    for (const server of servers.reverse()) await server.stop();
  };
  try {
    const nats = await ensureServer("nats", opts.natsUrl, opts.dataDir, logger);
    servers.push(nats);
    const redis = await ensureServer("redis", opts.redisUrl, opts.dataDir, logger);
    servers.push(redis);
    const uiDir = opts.ui === false ? undefined : await dashboard(logger);
    const stack = await startStack({
      ...(uiDir ? { uiDir } : {}),
      natsUrl: nats.url,
      redisUrl: redis.url,
      logger,
      port: opts.port,
      host: opts.host,
      provider: { baseDir: dirname(resolve(opts.file)) },
      // Local use: callbacks to a listener on this machine are the point.
      callbackAllowlist: opts.callbackAllowlist ?? ["127.0.0.1"],
      signingSecrets: opts.signingSecrets ?? [],
      ...(opts.gatewaySecurity ? { gatewaySecurity: opts.gatewaySecurity } : {}),
    });
    try {
      for (const spec of specs) await stack.registry.put(spec);
      await waitForReplicas(stack, specs);
      if (connectors) {
        const env = opts.env ?? {};
        events = await startEvents({
          nc: stack.nc,
          registry: stack.registry,
          logger,
          connectors,
          env,
          metricsRegistry: stack.metricsRegistry,
        });
      }
    } catch (err) {
      await stopAll(stack);
      throw err;
    }
    return { stack, events, stop: () => stopAll(stack) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The dashboard's build (made now if missing or stale); undefined, with a warning, if it cannot be built. */
async function dashboard(logger: Logger): Promise<string | undefined> {
  try {
    return await ensureDashboardBuilt({ log: (msg) => logger.info(msg) });
  } catch (err) {
    logger.warn({ err }, "the dashboard could not be built; /ui is not served");
    return undefined;
  }
}

/** Waits until every function has its `minReplicas` ready (30 s at most). */
async function waitForReplicas(stack: Stack, specs: FunctionSpec[]): Promise<void> {
  const until = Date.now() + 30_000;
  const short = (): FunctionSpec[] =>
    specs.filter((s) => s.watchdog && stack.endpoints.list(s.name).length < s.minReplicas);
  while (short().length > 0) {
    if (Date.now() > until) {
      const names = short().map((s) => s.name);
      throw new Error(`functions not ready after 30 s: ${names.join(", ")}`);
    }
    await sleep(50);
  }
}

export { FunctionsFileError, MissingServerError };
