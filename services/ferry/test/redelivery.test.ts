import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger } from "@ferry/runtime";
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
import { FIXTURES, eventually, recorderSpec, runsById } from "./helpers.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let replica: Replica;
let dir: string;
const stacks: Stack[] = [];
const workers: TsProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-redeliver-"));
  [nats, redis, sink] = await Promise.all([startNats(), startRedis(), startHttpSink()]);
  replica = await startReplica(recorderSpec("slow", join(dir, "runs.log")), FIXTURES, logger);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill("SIGKILL")));
  for (const s of stacks) await s.stop();
  await replica?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** A queue-worker as its own process, with a short lease so that a dead worker's calls return fast. */
function spawnWorker(): TsProcess {
  const worker = spawnTs("services/queue-worker/src/main.ts", {
    env: {
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      ACK_WAIT: "2s",
      HEALTH_PORT: "0",
      LOG_LEVEL: "info",
    },
  });
  workers.push(worker);
  return worker;
}

describe("redelivery", () => {
  test("worker killed - a call received but not acked is redelivered and its callback arrives once", async () => {
    const stack = await startStack({
      natsUrl: nats.url,
      redisUrl: redis.url,
      logger,
      port: 0,
      worker: false,
      callbackAllowlist: ["127.0.0.1"],
    });
    stacks.push(stack);
    // The spec carries the replica's URL: the worker runs in another process.
    await stack.registry.put({
      ...recorderSpec("slow", join(dir, "runs.log")),
      watchdog: undefined,
      url: replica.url,
    });
    const first = spawnWorker();
    await first.waitForOutput("queue-worker started");

    const res = await fetch(`${stack.gatewayUrl}/async-function/slow?sleep=1500`, {
      method: "POST",
      headers: { "x-callback-url": `${sink.url}/killed` },
      body: "survive",
    });
    expect(res.status).toBe(202);
    const callId = res.headers.get("x-call-id") ?? "";
    await eventually(async () => (await runsById(join(dir, "runs.log"))).has(callId));
    await first.kill("SIGKILL");

    const second = spawnWorker();
    await second.waitForOutput("queue-worker started");
    const [cb] = await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === callId });
    expect(cb?.body.toString()).toBe("survive");
    expect(cb?.headers["x-function-status"]).toBe("200");
    // Ran again after the lease lapsed: once by the dead worker, once by the second one.
    expect((await runsById(join(dir, "runs.log"))).get(callId)).toBe(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(sink.requests.filter((r) => r.headers["x-call-id"] === callId)).toHaveLength(1);
    await second.kill("SIGTERM");
  });

  test("two gateways and two workers on one NATS - each call runs exactly once", async () => {
    const log = join(dir, "pair.log");
    const pairReplica = await startReplica(recorderSpec("pair", log), FIXTURES, logger);
    const spec = { ...recorderSpec("pair", log), watchdog: undefined, url: pairReplica.url };
    const common = { redisUrl: redis.url, logger, port: 0, callbackAllowlist: ["127.0.0.1"] };
    const a = await startStack({ natsUrl: nats.url, ...common });
    const b = await startStack({ natsUrl: nats.url, ...common });
    stacks.push(a, b);
    await a.registry.put(spec);
    await eventually(() => b.registry.get("pair") !== undefined);

    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const gw = i % 2 === 0 ? a : b;
      const res = await fetch(`${gw.gatewayUrl}/async-function/pair`, {
        method: "POST",
        headers: { "x-callback-url": `${sink.url}/pair` },
        body: String(i),
      });
      expect(res.status).toBe(202);
      ids.push(res.headers.get("x-call-id") ?? "");
    }
    await sink.waitFor(200, { filter: (r) => r.url === "/pair", timeoutMs: 60_000 });
    const runs = await runsById(log);
    expect(ids.every((id) => runs.get(id) === 1)).toBe(true);
    expect(runs.size).toBe(200);
    const delivered = new Set(
      sink.requests.filter((r) => r.url === "/pair").map((r) => r.headers["x-call-id"]),
    );
    expect(delivered.size).toBe(200);
    await pairReplica.stop();
  });
});
