import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Queue } from "bullmq";
import { CALLBACK_QUEUE, FINAL_STATUSES, callKey, type CallStatus } from "@ferry/contracts";
import { createLogger, sleep } from "@ferry/runtime";
import {
  spawnTs,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
  type TsProcess,
} from "@ferry/testkit";
import { startReplica, startStack, type Replica, type Stack } from "../src/index.js";
import { FIXTURES, flakySpec, readRuns } from "./helpers.js";

// 2,000 calls while a worker is SIGKILLed three times, NATS restarted once (same data dir) and
// Redis once (AOF on): every call must end with a final status and one callback.
const CALLS = 2_000;
const POSTERS = 32;
const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let replica: Replica;
let stack: Stack;
let dir: string;
const workers: TsProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-chaos-"));
  [nats, redis, sink] = await Promise.all([
    startNats(),
    startRedis({ appendOnly: true }),
    startHttpSink(),
  ]);
  const runLog = join(dir, "runs.log");
  replica = await startReplica(
    {
      ...flakySpec("chaos", "http://unused"),
      url: undefined,
      watchdog: { fprocess: "node flaky.js", mode: "http" },
      env: { RUN_LOG: runLog },
    },
    FIXTURES,
    logger,
  );
  stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    callbackAllowlist: ["127.0.0.1"],
    worker: false,
  });
  await stack.registry.put(
    flakySpec("chaos", replica.url, { retry: { attempts: 10, minWait: 200, maxWait: 2_000 } }),
  );
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill("SIGKILL")));
  await stack?.stop();
  await replica?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  await rm(dir, { recursive: true, force: true });
});

function spawnWorker(): TsProcess {
  const worker = spawnTs("services/queue-worker/src/main.ts", {
    env: {
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      ACK_WAIT: "2s",
      MAX_INFLIGHT: "64",
      HEALTH_PORT: "0",
      LOG_LEVEL: "warn",
    },
  });
  workers.push(worker);
  return worker;
}

/** Posts one call until the gateway answers 202 (it answers 503 while NATS is down). */
async function postUntilAccepted(callId: string): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${stack.gatewayUrl}/async-function/chaos?sleep=40`, {
        method: "POST",
        headers: { "x-callback-url": `${sink.url}/chaos`, "x-call-id": callId },
        body: callId,
      });
      await res.arrayBuffer();
      if (res.status === 202) return;
    } catch {
      // the gateway is up; a connection error here is retried like a 503
    }
    if (Date.now() > until) throw new Error(`call ${callId} was not accepted in 60 s`);
    await sleep(100);
  }
}

async function waitRunning(worker: TsProcess): Promise<void> {
  // A worker logs nothing at warn level when it starts; wait until it has a NATS connection.
  await sleep(1_500);
  if (worker.child.exitCode !== null) throw new Error(`worker exited:\n${worker.output()}`);
}

describe("chaos", () => {
  test("chaos - 2,000 calls survive 3 worker kills, a NATS restart and a Redis restart: none lost", async () => {
    const started = Date.now();
    const live = [spawnWorker(), spawnWorker()];
    await Promise.all(live.map(waitRunning));
    const ids = Array.from({ length: CALLS }, (_, i) => `chaos-${i}`);
    let posted = 0;
    const killTimes: number[] = [];
    const events: string[] = [];

    const killWorker = async (i: number): Promise<void> => {
      killTimes.push(Date.now());
      await live[i]?.kill("SIGKILL");
      live[i] = spawnWorker();
      events.push(`worker ${i} killed at ${posted} calls, ${Date.now() - started} ms`);
    };
    const at = async (count: number): Promise<void> => {
      while (posted < count) await sleep(20);
    };
    const chaos = (async () => {
      await at(300);
      await killWorker(0);
      await at(600);
      await nats.restart();
      events.push(`NATS restarted at ${posted} calls, ${Date.now() - started} ms`);
      await at(1_000);
      await killWorker(1);
      await at(1_300);
      await redis.restart();
      events.push(`Redis restarted at ${posted} calls, ${Date.now() - started} ms`);
      await at(1_650);
      await killWorker(0);
    })();
    let next = 0;
    await Promise.all(
      Array.from({ length: POSTERS }, async () => {
        while (next < CALLS) {
          const id = ids[next++] as string;
          await postUntilAccepted(id);
          posted++;
        }
      }),
    );
    await chaos;
    events.push(`all ${CALLS} accepted at ${Date.now() - started} ms`);

    // Bounded wait for every callback; on timeout the counts below say what is missing.
    const delivered = new Map<string, number>();
    const until = Date.now() + 90_000;
    while (Date.now() < until) {
      delivered.clear();
      for (const r of sink.requests) {
        const id = String(r.headers["x-call-id"]);
        delivered.set(id, (delivered.get(id) ?? 0) + 1);
      }
      if (ids.every((id) => delivered.has(id))) break;
      await sleep(250);
    }
    const noCallback = ids.filter((id) => !delivered.has(id));

    const client = new Redis(redis.url);
    const statuses = await Promise.all(ids.map((id) => client.hget(callKey(id), "status")));
    await client.quit();
    const notFinal = ids.filter((_, i) => !FINAL_STATUSES.has(statuses[i] as CallStatus));
    // Where the missing callbacks are, to tell a lost job from a stuck one.
    const callbackQueue = new Queue(CALLBACK_QUEUE, { connection: { url: redis.url } });
    const missingStates: Record<string, number> = {};
    for (const id of ids.filter((i) => !delivered.has(i)).slice(0, 200)) {
      const state = await callbackQueue.getJobState(id);
      missingStates[state] = (missingStates[state] ?? 0) + 1;
    }
    await callbackQueue.close();
    const notSucceeded = statuses.filter((s) => s !== "succeeded").length;

    const runs = await readRuns(join(dir, "runs.log"));
    const byId = new Map<string, number[]>();
    for (const r of runs) byId.set(r.callId, [...(byId.get(r.callId) ?? []), r.at]);
    const ranTwice = [...byId.entries()].filter(([, times]) => times.length > 1);
    // A second run is allowed only when the first started around a worker kill: shortly before
    // it, or just after it for a request the dead worker had already sent to the watchdog.
    const unexplained = ranTwice.filter(
      ([, times]) =>
        !killTimes.some((k) => (times[0] ?? 0) - k < 5_000 && k - (times[0] ?? 0) < 30_000),
    );
    if (unexplained.length > 0) {
      console.log(
        "ran twice, unexplained (ms after each kill):",
        unexplained.slice(0, 10).map(([id, t]) => [id, killTimes.map((k) => (t[0] ?? 0) - k), t]),
      );
    }
    const callbacksTwice = [...delivered.values()].filter((n) => n > 1).length;
    const summary = {
      calls: CALLS,
      lost: noCallback.length,
      notFinal: notFinal.length,
      notSucceeded,
      ranTwice: ranTwice.length,
      ranTwiceUnexplained: unexplained.length,
      callbacksTwice,
      missingStates,
      neverRan: ids.filter((id) => !byId.has(id)).length,
      lastCallbackMs: Math.max(...sink.requests.map((r) => r.receivedAt)) - started,
      workerWarnings: warningsOf(workers),
      durationMs: Date.now() - started,
      events,
    };
    console.log(`CHAOS ${JSON.stringify(summary)}`);

    expect(noCallback, `calls without a callback (${noCallback.length})`).toEqual([]);
    expect(notFinal, `calls without a final status (${notFinal.length})`).toEqual([]);
    expect(notSucceeded, "calls not succeeded").toBe(0);
    expect(
      unexplained.map(([id]) => id),
      "calls run twice without a worker kill",
    ).toEqual([]);
    expect(killTimes).toHaveLength(3);
  }, 180_000);
});

/** Counts of the workers' warning and error messages, to explain a slow or failed run. */
function warningsOf(all: TsProcess[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const w of all) {
    for (const line of w.output().split("\n")) {
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1];
      if (msg) counts[msg] = (counts[msg] ?? 0) + 1;
    }
  }
  return counts;
}
