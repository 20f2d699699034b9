import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { ENDPOINTS_BUCKET, ProviderSubjects } from "@ferry/contracts";

/** A ready replica of a function, as the provider publishes it under `r.<function>.<replica>`. */
export interface Endpoint {
  function: string;
  replica: string;
  url: string;
}

/** Scale state of a function, as the provider publishes it under `s.<function>`. */
export interface ScaleState {
  desired: number;
  ready: number;
  /** Calls waiting or running (the autoscaler's input). */
  load: number;
  /** Calls running now, as workers and gateways report them. */
  inflight: number;
  updatedAt: number;
}

/** A replica picked for one call; `release` when the call is over. */
export interface EndpointLease {
  url: string;
  release(): void;
}

/** The ready replicas of every function, watched from the KV bucket `ferry_endpoints`. */
export interface EndpointTable {
  /** Ready replicas of a function. */
  list(fn: string): Endpoint[];
  /** The provider's last scale state of a function. */
  scale(fn: string): ScaleState | undefined;
  /** Calls this process runs now on the function's replicas. */
  inflight(fn: string): number;
  /**
   * The ready replica with the fewest calls in flight from this process. With none ready, asks
   * the provider to start one and waits up to `waitMs`; undefined if none came.
   */
  acquire(
    fn: string,
    opts: { waitMs: number; signal?: AbortSignal },
  ): Promise<EndpointLease | undefined>;
  close(): Promise<void>;
}

/** Options of {@link openEndpointTable}. */
export interface EndpointTableOptions {
  logger: Logger;
  replicas?: number;
  /** Reported with the load sent to the provider: `worker` or `gateway`. */
  kind: "worker" | "gateway";
  /** Period of the in-flight reports to the provider. Default 1 s. */
  reportEveryMs?: number;
}

/** Opens (creating if needed) the endpoints bucket and resolves once its content is loaded. */
export async function openEndpointTable(
  nc: NatsConnection,
  opts: EndpointTableOptions,
): Promise<EndpointTable> {
  const kv = await openEndpointsBucket(nc, opts.replicas);
  const ready = new Map<string, Map<string, Endpoint>>();
  const scales = new Map<string, ScaleState>();
  const inflight = new Map<string, number>();
  const waiters = new Set<() => void>();
  const watcher = await kv.watch();
  let loaded: () => void = () => {};
  const initial = new Promise<void>((resolve) => (loaded = resolve));
  if ((await kv.status()).values === 0) loaded();
  void (async () => {
    for await (const entry of watcher) {
      apply(entry.key, entry.operation === "PUT" ? entry.value : undefined, ready, scales);
      for (const wake of waiters) wake();
      if (entry.isUpdate || (entry.delta ?? 0) === 0) loaded();
    }
  })().catch((err: unknown) => opts.logger.error({ err }, "endpoints watch ended"));
  await initial;

  const source = `${opts.kind}-${Math.random().toString(36).slice(2, 10)}`;
  const report = setInterval(() => {
    if (nc.isClosed()) return;
    for (const [fn, n] of inflight) {
      const report = JSON.stringify({ source, kind: opts.kind, inflight: n });
      nc.publish(`${ProviderSubjects.Load}.${fn}`, report);
      if (n === 0) inflight.delete(fn);
    }
  }, opts.reportEveryMs ?? 1_000);
  report.unref();

  const pick = (fn: string): EndpointLease | undefined => {
    const all = [...(ready.get(fn)?.values() ?? [])];
    if (all.length === 0) return undefined;
    const counts = all.map((e) => inflightOf(e.url));
    const best = all[counts.indexOf(Math.min(...counts))] as Endpoint;
    const key = best.url;
    perUrl.set(key, inflightOf(key) + 1);
    inflight.set(fn, (inflight.get(fn) ?? 0) + 1);
    let released = false;
    return {
      url: best.url,
      release() {
        if (released) return;
        released = true;
        const left = inflightOf(key) - 1;
        if (left > 0) perUrl.set(key, left);
        else perUrl.delete(key); // replicas come and go: keep only the busy ones
        inflight.set(fn, (inflight.get(fn) ?? 1) - 1);
      },
    };
  };
  const perUrl = new Map<string, number>();
  const inflightOf = (url: string): number => perUrl.get(url) ?? 0;

  return {
    list: (fn) => [...(ready.get(fn)?.values() ?? [])],
    scale: (fn) => scales.get(fn),
    inflight: (fn) => inflight.get(fn) ?? 0,
    async acquire(fn, { waitMs, signal }) {
      const now = pick(fn);
      if (now || waitMs <= 0) return now;
      nc.publish(`${ProviderSubjects.Wake}.${fn}`);
      return waitFor(
        () => pick(fn),
        waiters,
        waitMs,
        signal,
        () => nc.publish(`${ProviderSubjects.Wake}.${fn}`),
      );
    },
    async close() {
      clearInterval(report);
      watcher.stop();
      for (const wake of waiters) wake();
    },
  };
}

/** Opens (creating if needed) the KV bucket `ferry_endpoints`. */
export async function openEndpointsBucket(nc: NatsConnection, replicas = 1): Promise<KV> {
  return new Kvm(nc).create(ENDPOINTS_BUCKET, { history: 1, replicas });
}

function apply(
  key: string,
  value: Uint8Array | undefined,
  ready: Map<string, Map<string, Endpoint>>,
  scales: Map<string, ScaleState>,
): void {
  const [kind, fn, replica] = key.split(".");
  if (!fn) return;
  const decoded =
    value && value.length > 0
      ? (JSON.parse(new TextDecoder().decode(value)) as unknown)
      : undefined;
  if (kind === "s") {
    if (decoded) scales.set(fn, decoded as ScaleState);
    else scales.delete(fn);
    return;
  }
  if (kind !== "r" || !replica) return;
  const replicas = ready.get(fn) ?? new Map<string, Endpoint>();
  if (decoded) replicas.set(replica, decoded as Endpoint);
  else replicas.delete(replica);
  if (replicas.size > 0) ready.set(fn, replicas);
  else ready.delete(fn);
}

/** Re-tries `get` on every table change until it gives a value, the time is up or `signal` aborts. */
async function waitFor<T>(
  get: () => T | undefined,
  waiters: Set<() => void>,
  waitMs: number,
  signal: AbortSignal | undefined,
  nudge: () => void,
): Promise<T | undefined> {
  const until = Date.now() + waitMs;
  while (Date.now() < until && !signal?.aborted) {
    const got = get();
    if (got !== undefined) return got;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      // The wake is repeated now and then, in case the provider restarted in between.
      const timer = setTimeout(
        () => (nudge(), done()),
        Math.min(2_000, Math.max(until - Date.now(), 0)),
      );
      waiters.add(done);
      signal?.addEventListener("abort", done);
    });
  }
  return get();
}
