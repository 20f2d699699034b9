// Measures cold starts (enqueue to the function's first response, minReplicas 0), the replica
// count while 2,000 queued calls drain with maxReplicas 4 (one replica SIGKILLed midway), and
// the return to zero. Run: node --import tsx --conditions=@ferry/source services/ferry/test/measure/scaling.ts
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FunctionSpec, type FunctionSpecInput } from "@ferry/contracts";
import { createLogger } from "@ferry/runtime";
import { startHttpSink, startNats, startRedis } from "@ferry/testkit";
import { startStack } from "../../src/index.js";
import { FIXTURES, eventually, runsById } from "../helpers.js";

const logger = createLogger({ name: "measure", level: "warn" });
const dir = await mkdtemp(join(tmpdir(), "ferry-measure-"));
const [nats, redis, sink] = await Promise.all([startNats(), startRedis(), startHttpSink()]);
const stack = await startStack({
  natsUrl: nats.url,
  redisUrl: redis.url,
  logger,
  port: 0,
  callbackAllowlist: ["127.0.0.1"],
  // `--compiled`: replicas run the built watchdog (build shared/runtime and services/watchdog first).
  provider: {
    baseDir: FIXTURES,
    scaleDownDelayMs: 2_000,
    compiledWatchdog: process.argv.includes("--compiled"),
  },
});
const current = (fn: string): number => stack.provider?.replicas(fn)?.current ?? 0;
const put = (input: FunctionSpecInput): Promise<void> =>
  stack.registry.put(FunctionSpec.parse(input));
const enqueue = async (fn: string, query = ""): Promise<{ id: string; at: number }> => {
  const res = await fetch(`${stack.gatewayUrl}/async-function/${fn}${query}`, {
    method: "POST",
    headers: { "x-callback-url": `${sink.url}/${fn}` },
    body: "x",
  });
  if (res.status !== 202) throw new Error(`enqueue answered ${res.status}`);
  return {
    id: res.headers.get("x-call-id") ?? "",
    at: Number(res.headers.get("x-start-time")) / 1e6,
  };
};
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function coldStarts(fn: string, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    await eventually(() => current(fn) === 0, 30_000);
    const { id, at } = await enqueue(fn);
    const [cb] = await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === id });
    out.push(Number(cb?.body.toString()) - at);
  }
  return out;
}

try {
  const idle = { minReplicas: 0, idleTimeout: 300, timeout: 10_000 };
  await put({ name: "cold-http", watchdog: { fprocess: "node clock.js", mode: "http" }, ...idle });
  await put({
    name: "cold-fork",
    watchdog: { fprocess: "node fork-clock.js", mode: "fork" },
    ...idle,
  });
  for (const fn of ["cold-http", "cold-fork"]) {
    const ms = await coldStarts(fn, 10);
    const last = Date.now();
    await eventually(() => current(fn) === 0, 30_000);
    console.log(
      `${fn}: enqueue -> first response, ms: ${ms.map(Math.round).join(" ")}; median ${Math.round(median(ms))}; back at zero ${Date.now() - last} ms after the last call (idleTimeout 300 ms)`,
    );
  }

  const runLog = join(dir, "load.log");
  await put({
    name: "load",
    watchdog: { fprocess: "node recorder.js", mode: "http" },
    env: { RUN_LOG: runLog },
    minReplicas: 0,
    maxReplicas: 4,
    targetInflight: 25,
    idleTimeout: 3_000,
  });
  const timeline: string[] = [];
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const line = `${((Date.now() - t0) / 1000).toFixed(1)}s:${current("load")}`;
    if (timeline.at(-1)?.split(":")[1] !== line.split(":")[1]) timeline.push(line);
  }, 100);
  const ids: string[] = [];
  for (let i = 0; i < 2_000; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: 200 }, () => enqueue("load", "?sleep=20")),
    );
    ids.push(...batch.map((b) => b.id));
  }
  console.log(`2000 calls queued in ${Date.now() - t0} ms`);
  await eventually(() => stack.provider?.replicas("load")?.ready === 4, 60_000);
  const killed = stack.provider?.replicas("load")?.pids[0];
  if (!killed) throw new Error("no replica pid to kill");
  process.kill(killed, "SIGKILL");
  await sink.waitFor(2_000, { timeoutMs: 180_000, filter: (r) => r.url === "/load" });
  console.log(
    `2000 callbacks in ${Date.now() - t0} ms (replica pid ${killed} SIGKILLed at 4 replicas)`,
  );
  await eventually(() => current("load") === 0, 60_000);
  clearInterval(sampler);
  const runs = await runsById(runLog);
  const lost = ids.filter((id) => !runs.has(id)).length;
  const twice = ids.filter((id) => (runs.get(id) ?? 0) > 1).length;
  const failed = sink.requests.filter(
    (r) => r.url === "/load" && r.headers["x-function-status"] !== "200",
  ).length;
  console.log(`replicas over time (elapsed:count): ${timeline.join(" ")}`);
  console.log(
    `calls never run: ${lost}; run more than once: ${twice}; callbacks not 200: ${failed}`,
  );
} finally {
  await stack.stop();
  await Promise.all([nats.stop(), redis.stop(), sink.close()]);
  await rm(dir, { recursive: true, force: true });
}
