import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { createLogger, sleep } from "@ferry/runtime";
import { openFunctionRegistry } from "@ferry/jetstream";
import { load, mediansInTurns, type LoadResult } from "../load.js";
import { paced } from "../paced.js";
import { drain, resetSink, sinkStats, type SinkStats } from "../sink.js";
import { sustainedRates, type Sustained } from "../sustained.js";
import { startAll, startNats, startRedis, type ServerHandle } from "@ferry/testkit";
import { startTarget, waitHttp, type Target } from "../procs.js";
import type { Row } from "../report.js";
import type { BenchSettings } from "../settings.js";
import { stageMedians } from "../stages.js";

const BODY = "x".repeat(1024);

/** The Ferry processes of one run, started in two steps. */
export interface Ferry {
  targets: Target[];
  gateway: Target;
  sink: Target;
  /** The watchdog in front of the upstream. */
  fn: Target;
  upstream: Target;
  common: Record<string, string>;
  profile: string[];
}

/** The function behind a watchdog, the callback sink and the gateway, each its own process. */
export async function startFront(
  natsUrl: string,
  redisUrl: string,
  profileDir: string | undefined,
): Promise<Ferry> {
  // --profile: each Ferry service writes a V8 CPU profile when it exits.
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  // The sink listens on loopback, which callbacks may only reach when allowed.
  const common = {
    NATS_URL: natsUrl,
    REDIS_URL: redisUrl,
    LOG_LEVEL: "warn",
    CALLBACK_ALLOWLIST: "127.0.0.1",
  };
  const [upstream, sink, gateway] = (await startAll([
    startTarget("loadtests/bench/src/targets/upstream.ts"),
    startTarget("loadtests/callback-sink/src/main.ts", {}, "callback sink on"),
    // As deployed: with operator credentials (the bench itself only invokes functions).
    startTarget(
      "services/gateway/src/main.ts",
      { ...common, AUTH_TOKENS: randomBytes(16).toString("hex") },
      { path: "/readyz" },
      "PORT",
      profile,
    ),
  ])) as [Target, Target, Target];
  try {
    const fn = await startTarget(
      "services/watchdog/src/main.ts",
      {
        mode: "http",
        fprocess: "sleep 86400",
        upstream_url: upstream.url,
        metrics_port: "0",
        suppress_lock: "true",
        healthcheck_interval: "0s",
      },
      "watchdog ready",
      "port",
      profile,
    );
    return { targets: [gateway, sink, fn, upstream], gateway, sink, fn, upstream, common, profile };
  } catch (err) {
    for (const t of [gateway, sink, upstream]) await t.stop();
    throw err;
  }
}

/** What the bench's tools run against: their own servers and Ferry's front, with `bench` registered. */
export interface ToolStack {
  nats: ServerHandle;
  redis: ServerHandle;
  ferry: Ferry;
  nc: NatsConnection;
  /** Stops every target, then the servers. */
  stop(): Promise<void>;
}

/** Starts nats-server, redis-server and {@link startFront}, and registers the function `bench`. */
export async function startToolStack(profileDir?: string): Promise<ToolStack> {
  const [nats, redis] = (await startAll([startNats(), startRedis()])) as [
    ServerHandle,
    ServerHandle,
  ];
  const ferry = await startFront(nats.url, redis.url, profileDir);
  const nc = await connect({ servers: nats.url });
  const registry = await openFunctionRegistry(nc, {
    logger: createLogger({ name: "bench-tool", level: "silent" }),
  });
  await registry.put({ name: "bench", url: ferry.fn.url });
  await registry.close();
  await sleep(1000); // the gateway's registry watcher sees the function
  return {
    nats,
    redis,
    ferry,
    nc,
    async stop() {
      for (const t of ferry.targets) await t.stop();
      await nc.close();
      await Promise.all([nats.stop(), redis.stop()]);
    },
  };
}

/**
 * Starts the callbacks service and `workers` queue-workers: competing consumers of the same
 * queue, as replicas of one deployment are. The first ready drains while the others start.
 */
export async function startBack(
  ferry: Ferry,
  workers = 1,
): Promise<{ workers: Target[]; callbacks: Target }> {
  const [callbacks, ...started] = (await startAll([
    startTarget(
      "services/callbacks/src/main.ts",
      { ...ferry.common, CONCURRENCY: "256" },
      { path: "/readyz" },
      "HEALTH_PORT",
      ferry.profile,
    ),
    ...Array.from({ length: workers }, () =>
      startTarget(
        "services/queue-worker/src/main.ts",
        { ...ferry.common, MAX_INFLIGHT: "256" },
        { path: "/readyz" },
        "HEALTH_PORT",
        ferry.profile,
      ),
    ),
  ])) as [Target, ...Target[]];
  ferry.targets.unshift(callbacks, ...started);
  return { workers: started, callbacks };
}

/** `count` minimal workers (targets/minimal-worker.ts) calling Ferry's function and sink. */
export function startMinimalWorkers(ferry: Ferry, count: number): Promise<Target[]> {
  return startAll(
    Array.from({ length: count }, () =>
      startTarget("loadtests/bench/src/targets/minimal-worker.ts", {
        ...ferry.common,
        FUNCTION_URL: ferry.fn.url,
        CALLBACK_URL: `${ferry.sink.url}/cb`,
        MAX_INFLIGHT: "256",
      }),
    ),
  );
}

/**
 * A baseline's rate and Ferry's (POSTs of 1 KiB, 50 connections), each warmed up first, then
 * measured in turns: the median of `repeats` runs each.
 */
async function inTurns(
  s: BenchSettings,
  baseline: { url: string; headers?: Record<string, string> },
  ferry: { url: string; headers?: Record<string, string> },
): Promise<{ baseline: LoadResult; ferry: LoadResult }> {
  const run =
    (target: { url: string; headers?: Record<string, string> }, durationSec = s.seconds) =>
    () =>
      load({
        url: target.url,
        body: BODY,
        headers: target.headers ?? {},
        connections: 50,
        durationSec,
      });
  // The JIT's warm-up is not what either figure is about.
  const warm = Math.min(2, s.seconds / 4);
  await run(baseline, warm)();
  await run(ferry, warm)();
  const [base, own] = await mediansInTurns(s.repeats, [run(baseline), run(ferry)]);
  return { baseline: base as LoadResult, ferry: own as LoadResult };
}

/** Purges `stream` down to its newest `keep` messages; returns how many it holds then. */
async function keepBacklog(nc: NatsConnection, stream: string, keep: number): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return jsm.streams
    .purge(stream, { keep })
    .then(() => jsm.streams.info(stream))
    .then((i) => i.state.messages)
    .catch(() => 0);
}

/**
 * Drain rate into the sink from now (when the last worker is ready; the first ones drain while it
 * starts) until `count` calls arrived or none for 10 s; from the first callback if it comes later.
 */
async function drainRate(sink: Target, count: number): Promise<{ rate: number; done: SinkStats }> {
  const ready = await sinkStats(sink.url);
  const from = ready.unique > 0 ? { n: ready.unique, at: Date.now() } : undefined;
  const done = await drain(sink.url, count);
  const counted = done.unique - (from?.n ?? 0);
  return {
    rate: counted / Math.max(0.001, (done.lastAt - (from?.at ?? done.firstAt)) / 1000),
    done,
  };
}

/** Paced runs of {@link sustainedRates}: --quick has time for three of 1.5 s, full runs four of 3 s. */
const searchOf = (s: BenchSettings) =>
  s.quick ? { probes: 3, seconds: 1.5 } : { probes: 4, seconds: 3 };

/** How a sustained rate was found, for the table's note. */
function probesNote(found: Sustained): string {
  const tried = found.probes
    .map((p) => (p.keptUp ? `${p.rate}` : `${p.rate}x (${p.completedRate} back)`))
    .join(", ");
  return `paced runs at ${tried} /s (x: fell behind, with the callbacks/s that came back)`;
}

/** An accept → callback run at `rate` through `url`, as a row; with Ferry's stage medians. */
async function latencyRow(
  ferry: Ferry,
  s: BenchSettings,
  target: { url: string; headers?: Record<string, string>; redisUrl?: string },
  row: { group: string; name: string; note: string },
  rate: number,
): Promise<Row> {
  await resetSink(ferry.sink.url);
  const since = Date.now();
  // Evenly paced (autocannon's rate limit sends each second's quota as one burst).
  const run = await paced({
    url: target.url,
    body: BODY,
    headers: target.headers ?? {},
    connections: 50,
    durationSec: s.seconds,
    rate,
  });
  const seen = await drain(ferry.sink.url, run.total - run.errors);
  const st = target.redisUrl ? await stageMedians(target.redisUrl, since) : undefined;
  return {
    group: row.group,
    name: row.name,
    rps: run.rps,
    ...(seen.p50Ms !== undefined ? { p50: seen.p50Ms } : {}),
    ...(seen.p99Ms !== undefined ? { p99: seen.p99Ms } : {}),
    note:
      `accept p50 ${run.p50.toFixed(1)} ms` +
      (st ? `; stage p50s: queue ${st.queue}, run ${st.run}, callback ${st.callback} ms` : "") +
      `; ${row.note}`,
  };
}

/**
 * The minimal workers (targets/minimal-worker.ts), started to drain what the minimal gateway
 * accepted during the accept runs, as much as Ferry's drained, through the same function and sink:
 * the ceiling for an honest worker. They stay up for the minimal path's sustained rate and latency
 * (targets/minimal-gateway.ts in front), so that both are warm then, as Ferry's are: the gateway
 * from the accept runs, the workers from the drain (a minimal gateway started cold spent its first
 * thousand calls compiling: p50 239 ms, then 60, then 18 in 3 s runs here).
 */
async function minimalDrain(
  nc: NatsConnection,
  ferry: Ferry,
  s: BenchSettings,
  ferryBacklog: number,
): Promise<{ workers: Target[]; drain?: Row; rate?: number }> {
  // The backlog the Ferry workers drained, no more: the minimal gateway's runs left several
  // times that (200,000 in a full run), whose drain took a minute and left NATS deleting them.
  const backlog = await keepBacklog(nc, "BENCH_MINIMAL", ferryBacklog);
  await resetSink(ferry.sink.url);
  const workers = await startMinimalWorkers(ferry, s.workers);
  ferry.targets.unshift(...workers);
  if (backlog === 0) return { workers };
  const drained = await drainRate(ferry.sink, backlog);
  return {
    workers,
    rate: drained.rate,
    drain: {
      group: "baseline",
      name: `minimal worker: call, store, callback, ack; ${s.workers} of them, backlog drained (${drained.done.unique}/${backlog})`,
      rps: drained.rate,
      note: "the same function and sink; the ceiling for the drain",
    },
  };
}

/** Ferry's accept rate, end-to-end completions and accept-to-callback latency at half load. */
export async function ferryScenarios(
  nc: NatsConnection,
  natsUrl: string,
  redisUrl: string,
  s: BenchSettings,
  profileDir?: string,
): Promise<Row[]> {
  const [ferry, minimalGateway] = await Promise.all([
    startFront(natsUrl, redisUrl, profileDir),
    startTarget("loadtests/bench/src/targets/minimal-gateway.ts", { NATS_URL: natsUrl }),
  ]);
  ferry.targets.push(minimalGateway);
  const rows: Row[] = [];
  try {
    const registry = await openFunctionRegistry(nc, {
      logger: createLogger({ name: "bench", level: "silent" }),
    });
    await registry.put({
      name: "bench",
      queue: "default",
      url: ferry.fn.url,
      env: {},
      timeout: 30_000,
      minReplicas: 1,
      maxReplicas: 1,
      targetInflight: 10,
      idleTimeout: 300_000,
    });
    await registry.close();
    await waitHttp(`${ferry.gateway.url}/readyz`);
    await sleep(500); // the gateway's registry watcher sees the function
    const url = `${ferry.gateway.url}/async-function/bench`;
    const headers = { "content-type": "text/plain", "x-callback-url": `${ferry.sink.url}/cb` };

    // Accept rate of the gateway alone: the calls wait in JetStream, as they would behind busy
    // workers. Measured in turns with the minimal gateway, both warmed up first.
    const { baseline: minimal, ferry: accept } = await inTurns(
      s,
      { url: minimalGateway.url },
      { url, headers },
    );
    rows.push({
      group: "baseline",
      name: "minimal gateway: Fastify + awaited publish (50 conns; in turns with Ferry's)",
      ...minimal,
    });
    rows.push({
      group: "ferry",
      name: "async accept, 202/s (50 conns; workers stopped)",
      ...accept,
      ratio: { value: accept.rps / minimal.rps, against: "minimal gateway", goal: ">= 0.8" },
    });
    // Sync invoke (full runs): the gateway streams the call to the function's watchdog and back,
    // in turns with the same watchdog called directly: what the gateway's hop costs. One run of
    // 5 s each, which keeps a full run under ten minutes.
    if (!s.quick) {
      const sync = await inTurns(
        { ...s, seconds: 5, repeats: 1 },
        { url: ferry.fn.url },
        { url: `${ferry.gateway.url}/function/bench` },
      );
      rows.push({
        group: "baseline",
        name: "watchdog http mode called directly (50 conns; in turns with Ferry's sync invoke)",
        ...sync.baseline,
      });
      rows.push({
        group: "ferry",
        name: "sync invoke, /function through the gateway to the same watchdog (50 conns)",
        ...sync.ferry,
        ratio: { value: sync.ferry.rps / sync.baseline.rps, against: "watchdog direct" },
      });
    }
    // The workers and the callbacks service drain the backlog into the sink, five seconds' worth
    // of it, 35,000 calls here (the rest is purged: three runs' worth took over a minute to drain,
    // and the sustained-rate searches need the time); --quick drains one second's worth, to stay
    // under a minute. Its rate leaves out the gateway's share of the CPU.
    const backlogSec = s.quick ? 1 : s.seconds / 2;
    const accepted = await keepBacklog(nc, "FERRY_INVOKE", Math.round(accept.rps * backlogSec));
    await startBack(ferry, s.workers);
    const { rate: drainRps, done } = await drainRate(ferry.sink, accepted);
    const drainRow: Row = {
      group: "ferry",
      name: `backlog drained to the sink by ${s.workers} worker${s.workers === 1 ? "" : "s"}, completions/s (${done.unique}/${accepted})`,
      rps: drainRps,
      note: `duplicates ${done.duplicates}; the gateway idle`,
    };
    // The minimal workers drain the minimal gateway's backlog right after, and stay up.
    const floor = await minimalDrain(nc, ferry, s, done.unique);
    if (floor.drain) {
      drainRow.ratio = { value: drainRps / floor.drain.rps, against: "minimal worker" };
      rows.push(floor.drain);
    }
    rows.push(drainRow);
    // End to end as users meet it: calls paced into the gateway while the workers run them; in
    // full runs in turns with the minimal path's (the ceiling for end to end).
    const ferryTarget = { url, headers, guess: drainRps * 0.8 };
    const minimalTarget = { url: minimalGateway.url, guess: (floor.rate ?? drainRps * 2) * 0.8 };
    const [found, minimalFound] = (await sustainedRates(
      s.quick ? [ferryTarget] : [ferryTarget, minimalTarget],
      { body: BODY, sinkUrl: ferry.sink.url, ...searchOf(s) },
    )) as [Sustained, Sustained | undefined];
    const e2eRow: Row = {
      group: "ferry",
      name: "end-to-end completions/s, sustained: paced into the gateway, callbacks keeping up",
      rps: found.rate,
      note: `goal >= 4,000/s; ${probesNote(found)}`,
    };
    if (minimalFound) {
      rows.push({
        group: "baseline",
        name: "minimal gateway + workers: end-to-end completions/s, sustained (in turns with Ferry's)",
        rps: minimalFound.rate,
        note: `the ceiling for end to end; ${probesNote(minimalFound)}`,
      });
      e2eRow.ratio = { value: found.rate / minimalFound.rate, against: "minimal path" };
    }
    // No paced run kept up (a machine far busier than this one): no half load to measure at.
    if (found.rate === 0) e2eRow.note += "; none kept up, so no latency rows";
    rows.push(e2eRow);

    // Accept → callback latency, each Ferry pace followed by the minimal path's: at half of
    // Ferry's sustained rate (the goal) both; full runs then Ferry at a quarter, and the minimal
    // path at half of its own sustained rate.
    const ferryAt = (share: number, label: string) => {
      const rate = Math.round(found.rate / share);
      return () =>
        latencyRow(
          ferry,
          s,
          { url, headers, redisUrl },
          {
            group: "ferry",
            name: `accept -> callback at ${rate}/s (${label} of sustained)`,
            note: `latency from X-Start-Time to callback receipt${share === 2 ? "; goal p50 <= 5 ms" : ""}`,
          },
          rate,
        );
    };
    const minimalAt = (rate: number, label: string, what: string) => () =>
      latencyRow(
        ferry,
        s,
        { url: minimalGateway.url },
        {
          group: "baseline",
          name: `minimal gateway + workers: accept -> callback at ${rate}/s (${label})`,
          note: what,
        },
        rate,
      );
    const runs: Array<[Row[], () => Promise<Row>]> = [];
    const ferryLatency: Row[] = [];
    const minimalLatency: Row[] = [];
    if (found.rate > 0) {
      const half = Math.round(found.rate / 2);
      runs.push([ferryLatency, ferryAt(2, "half")]);
      runs.push([
        minimalLatency,
        minimalAt(half, "Ferry's half-load rate", "the floor under the latency goal"),
      ]);
      if (!s.quick) runs.push([ferryLatency, ferryAt(4, "a quarter")]);
    }
    if (minimalFound && minimalFound.rate > 0) {
      const own = Math.max(10, Math.round(minimalFound.rate / 2));
      runs.push([minimalLatency, minimalAt(own, "half of its sustained", "its own half load")]);
    }
    for (const [into, run] of runs) into.push(await run());
    rows.push(...minimalLatency, ...ferryLatency);
  } finally {
    // SIGTERM lets profiled processes write their profiles.
    for (const t of ferry.targets) await t.stop();
  }
  return rows;
}
