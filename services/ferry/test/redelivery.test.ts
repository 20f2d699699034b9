import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Streams, callKey, invokeSubject, queueConsumerName } from "@ferry/contracts";
import { createLogger } from "@ferry/runtime";
import {
  startAll,
  spawnTs,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
  type TsProcess,
} from "@ferry/testkit";
import {
  startReplica,
  startStack,
  type Replica,
  type Stack,
  type StackOptions,
} from "../src/index.js";
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
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  replica = await startReplica(recorderSpec("slow", join(dir, "runs.log")), FIXTURES, logger);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill("SIGKILL")));
  for (const s of stacks) await s.stop();
  await replica?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/**
 * A queue-worker as its own process, with a short lease so that a dead worker's calls return fast.
 * It queues every callback attempt (CALLBACK_FIRST_ATTEMPT=false): the path where the job and
 * the settled mark share the outcome's transaction.
 */
function spawnWorker(): TsProcess {
  const worker = spawnTs("services/queue-worker/src/main.ts", {
    env: {
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      ACK_WAIT: "2s",
      HEALTH_PORT: "0",
      CALLBACK_ALLOWLIST: "127.0.0.1",
      CALLBACK_FIRST_ATTEMPT: "false",
      LOG_LEVEL: "info",
    },
  });
  workers.push(worker);
  return worker;
}

/** A stack on this file's servers (callbacks to the sink allowed), tracked for clean-up. */
async function stackWith(opts: Partial<StackOptions> = {}): Promise<Stack> {
  const stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    callbackAllowlist: ["127.0.0.1"],
    ...opts,
  });
  stacks.push(stack);
  return stack;
}

describe("redelivery", () => {
  test("worker killed - a call received but not acked is redelivered and its callback arrives once", async () => {
    const stack = await stackWith({ worker: false });
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

  test("lost ack - a call delivered again after its outcome and callback were stored is acked, not run again", async () => {
    const front = await stackWith({ worker: false });
    await front.registry.put({ name: "once", url: `${sink.url}/fn-once` });
    const res = await fetch(`${front.gatewayUrl}/async-function/once`, {
      method: "POST",
      headers: { "x-callback-url": `${sink.url}/cb-once` },
      body: "only once",
    });
    expect(res.status).toBe(202);
    const callId = res.headers.get("x-call-id") ?? "";
    // The call as stored, before any worker took it: what a redelivery hands a worker again.
    const jsm = await jetstreamManager(front.nc);
    const stored = await jsm.streams.getMessage(Streams.Invoke, {
      last_by_subj: invokeSubject("default", "once"),
    });
    expect(stored?.header.get("Ferry-Call-Id")).toBe(callId);

    const back = await stackWith({ callbacks: false });
    await sink.waitFor(1, { filter: (r) => r.url === "/cb-once" });
    const client = new Redis(redis.url);
    await eventually(async () => (await client.hget(callKey(callId), "callbackQueued")) === "0");

    // The same call again, as if the first ack had been lost (a new message id, so that
    // JetStream's duplicate window does not drop it).
    stored!.header.set("Nats-Msg-Id", `${callId}-again`);
    await jetstream(front.nc).publish(invokeSubject("default", "once"), stored!.data, {
      headers: stored!.header,
    });
    await eventually(async () => {
      const info = await jsm.consumers.info(Streams.Invoke, queueConsumerName("default"));
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.requests.filter((r) => r.url.startsWith("/fn-once"))).toHaveLength(1);
    expect(sink.requests.filter((r) => r.url === "/cb-once")).toHaveLength(1);
    // The status record holds its own fields only.
    expect(Object.keys(await client.hgetall(callKey(callId)))).not.toContain("0");
    await client.quit();
    await back.stop();
    stacks.splice(stacks.indexOf(back), 1);
  });

  test("two gateways and two workers on one NATS - each call runs exactly once", async () => {
    const log = join(dir, "pair.log");
    const pairReplica = await startReplica(recorderSpec("pair", log), FIXTURES, logger);
    const spec = { ...recorderSpec("pair", log), watchdog: undefined, url: pairReplica.url };
    const a = await stackWith();
    const b = await stackWith();
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
