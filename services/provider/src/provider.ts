import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { ProviderSubjects, Streams, Subjects, type FunctionSpec } from "@ferry/contracts";
import {
  isConnected,
  openEndpointsBucket,
  type FunctionRegistry,
  type NatsConnection,
  type ScaleState,
} from "@ferry/jetstream";
import { createRegistry } from "@ferry/runtime";
import { desiredReplicas } from "./autoscale.js";
import { FunctionReplicas } from "./function-replicas.js";
import { createProviderMetrics } from "./metrics.js";
import { LoadReports } from "./load.js";

/** Options of {@link createProvider}. */
export interface ProviderOptions {
  nc: NatsConnection;
  registry: FunctionRegistry;
  logger: Logger;
  /** Base of relative `workdir`s and `staticPath`s. */
  baseDir: string;
  /** Period of the autoscaler. Default 500 ms. */
  tickMs?: number;
  /** Period of replica health checks. Default 1 s. */
  healthEveryMs?: number;
  /** Time a lower replica count must hold before one replica is removed. Default 10 s. */
  scaleDownDelayMs?: number;
  /** KV bucket replicas. */
  replicas?: number;
  /** Start replicas from the compiled watchdog even when running from source. Default false. */
  compiledWatchdog?: boolean;
  /** Registry for the provider's metrics; a new one when absent. */
  metricsRegistry?: Registry;
}

/** A running provider. */
export interface Provider {
  /** Replica counts of a function (undefined when the provider does not run it). */
  replicas(
    fn: string,
  ): { ready: number; current: number; target: number; pids: number[] } | undefined;
  close(): Promise<void>;
}

interface Managed {
  set: FunctionReplicas;
  lastBusyAt: number;
  lastChangeAt: number;
  published?: string;
}

/** Runs the replicas of every function with `watchdog` settings in the registry. */
export async function createProvider(opts: ProviderOptions): Promise<Provider> {
  const log = opts.logger.child({ component: "provider" });
  const kv = await openEndpointsBucket(opts.nc, opts.replicas);
  // One provider owns the bucket: entries of an earlier run point at processes that are gone.
  await purge(kv);
  const jsm = await jetstreamManager(opts.nc);
  const loads = new LoadReports();
  const managed = new Map<string, Managed>();
  const retiring = new Set<Promise<void>>();
  const runId = Date.now().toString(36);
  const deps = {
    kv,
    baseDir: opts.baseDir,
    logger: opts.logger,
    runId,
    drainMs: 200,
    compiledWatchdog: opts.compiledWatchdog ?? false,
    metrics: createProviderMetrics(opts.metricsRegistry ?? createRegistry()),
  };

  const apply = (name: string, spec: FunctionSpec | undefined): void => {
    const m = managed.get(name);
    if (!spec?.watchdog) {
      if (!m) return;
      managed.delete(name);
      const closing = m.set.close().then(() => kv.delete(`s.${name}`).catch(() => {}));
      retiring.add(closing);
      void closing.finally(() => retiring.delete(closing));
      return;
    }
    if (!m) {
      const set = new FunctionReplicas(spec, deps);
      managed.set(name, { set, lastBusyAt: Date.now(), lastChangeAt: Date.now() });
      set.scaleTo(spec.minReplicas);
      return;
    }
    if (runtimeChanged(m.set.spec, spec)) void m.set.replace(spec);
    else m.set.update(spec);
  };
  for (const spec of opts.registry.list()) apply(spec.name, spec);
  const unwatch = opts.registry.onChange(apply);

  const wake = opts.nc.subscribe(`${ProviderSubjects.Wake}.*`, {
    callback: (_err, msg) => {
      const m = managed.get(msg.subject.slice(ProviderSubjects.Wake.length + 1));
      if (!m) return;
      m.lastBusyAt = Date.now();
      if (m.set.current === 0) {
        m.lastChangeAt = Date.now();
        m.set.scaleTo(1);
      }
    },
  });
  const loadSub = opts.nc.subscribe(`${ProviderSubjects.Load}.*`, {
    callback: (_err, msg) =>
      loads.record(msg.subject.slice(ProviderSubjects.Load.length + 1), msg.string()),
  });

  let ticking = false;
  const tick = async (): Promise<void> => {
    if (ticking || managed.size === 0) return;
    ticking = true;
    try {
      const stored = await storedPerFunction(jsm);
      const now = Date.now();
      for (const [name, m] of managed) {
        const load = (stored.get(name) ?? 0) + loads.sum(name, "gateway", now);
        if (load > 0) m.lastBusyAt = now;
        const current = m.set.current;
        const want = desiredReplicas({
          spec: m.set.spec,
          load,
          current,
          now,
          lastBusyAt: m.lastBusyAt,
          lastChangeAt: m.lastChangeAt,
          scaleDownDelayMs: opts.scaleDownDelayMs ?? 10_000,
        });
        if (want !== current) {
          m.lastChangeAt = now;
          m.set.scaleTo(want);
        }
        deps.metrics.ready.set({ function_name: name }, m.set.ready);
        deps.metrics.desired.set({ function_name: name }, m.set.target);
        await publish(kv, name, m, { load, inflight: loads.sum(name, undefined, now) });
      }
    } catch (err) {
      log.warn({ err }, "autoscaler tick failed");
    } finally {
      ticking = false;
    }
  };
  const ticker = setInterval(() => void tick(), opts.tickMs ?? 500);
  const health = setInterval(() => {
    for (const m of managed.values()) void m.set.checkHealth(1_000);
  }, opts.healthEveryMs ?? 1_000);
  log.info({ functions: managed.size }, "provider started");

  return {
    replicas(fn) {
      const m = managed.get(fn);
      const { set } = m ?? {};
      return set && { ready: set.ready, current: set.current, target: set.target, pids: set.pids };
    },
    async close() {
      clearInterval(ticker);
      clearInterval(health);
      unwatch();
      wake.unsubscribe();
      loadSub.unsubscribe();
      await Promise.all([...managed.values()].map((m) => m.set.close()));
      await Promise.all(retiring);
      if (isConnected(opts.nc)) await purge(kv).catch((err: unknown) => log.warn({ err }, "purge"));
    },
  };
}

/** Messages stored per function in FERRY_INVOKE (a work queue: waiting plus running calls). */
async function storedPerFunction(jsm: JetStreamManager): Promise<Map<string, number>> {
  const info = await jsm.streams.info(Streams.Invoke, { subjects_filter: `${Subjects.Invoke}.>` });
  const out = new Map<string, number>();
  for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
    const fn = subject.split(".").at(-1) ?? "";
    out.set(fn, (out.get(fn) ?? 0) + n);
  }
  return out;
}

async function publish(
  kv: KV,
  name: string,
  m: Managed,
  load: { load: number; inflight: number },
): Promise<void> {
  const state: Omit<ScaleState, "updatedAt"> = {
    desired: m.set.target,
    ready: m.set.ready,
    ...load,
  };
  const text = JSON.stringify(state);
  if (text === m.published) return;
  m.published = text;
  await kv.put(`s.${name}`, JSON.stringify({ ...state, updatedAt: Date.now() }));
}

async function purge(kv: KV): Promise<void> {
  for await (const key of await kv.keys()) await kv.purge(key);
}

function runtimeChanged(a: FunctionSpec, b: FunctionSpec): boolean {
  const pick = (s: FunctionSpec): string =>
    JSON.stringify([s.watchdog, s.env, s.secrets, s.timeout]);
  return pick(a) !== pick(b);
}
