import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FUNCTIONS_BUCKET, Streams } from "@ferry/contracts";
import { createLogger } from "@ferry/runtime";
import {
  startAll,
  startHttpSink,
  startNatsCluster,
  startRedis,
  type HttpSink,
  type NatsCluster,
  type ServerHandle,
} from "@ferry/testkit";
import { startReplica, startStack, type Replica, type Stack } from "../src/index.js";
import { FIXTURES, eventually, recorderSpec, runsById } from "./helpers.js";

const CALLS = 5_000;
const CONCURRENCY = 48;
const logger = createLogger({ name: "test", level: "silent" });
let cluster: NatsCluster;
let redis: ServerHandle;
let sink: HttpSink;
let replica: Replica;
let stack: Stack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-cluster-"));
  [cluster, redis, sink] = await startAll([startNatsCluster(3), startRedis(), startHttpSink()]);
  const spec = recorderSpec("recorder", join(dir, "runs.log"));
  replica = await startReplica(spec, FIXTURES, logger);
  stack = await startStack({
    natsUrl: cluster.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    replicas: 3,
    callbackAllowlist: ["127.0.0.1"],
    // Acks lost in the failover come back after the lease; a short one keeps the test short.
    consumer: { ackWaitMs: 5_000, maxDeliver: 10, maxAckPending: 10_000 },
    resolveEndpoint: () => replica.url,
  });
  await stack.registry.put(spec);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await replica?.stop();
  await Promise.all([cluster?.stop(), redis?.stop(), sink?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** Posts one call until it gets its 202, as a caller would: same call id, so retries dedupe. */
async function call(id: string, counters: { retries: number }): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${stack.gatewayUrl}/async-function/recorder`, {
        method: "POST",
        headers: { "x-callback-url": `${sink.url}/cb`, "x-call-id": id },
        body: id,
      });
      await res.arrayBuffer();
      if (res.status === 202) return;
      if (res.status !== 503) throw new Error(`call ${id}: unexpected ${res.status}`);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("call ")) throw err;
    }
    counters.retries++;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The node that leads the FERRY_INVOKE stream now. */
async function invokeLeader(): Promise<string> {
  const info = await (await jetstreamManager(stack.nc)).streams.info(Streams.Invoke);
  return info.cluster?.leader ?? "";
}

describe("3-node NATS cluster", () => {
  test("cluster - streams and the registry bucket are replicated on 3 nodes", async () => {
    const jsm = await jetstreamManager(stack.nc);
    for (const name of [Streams.Invoke, Streams.Dlq, Streams.Events]) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.replicas?.length).toBe(2);
    }
    const kv = await new Kvm(stack.nc).open(FUNCTIONS_BUCKET);
    expect((await kv.status()).replicas).toBe(3);
  });

  test("cluster - 5,000 async calls with the stream leader SIGKILLed and restarted: none lost, every callback received", async () => {
    const started = Date.now();
    const counters = { retries: 0 };
    const ids = Array.from({ length: CALLS }, (_, i) => `cluster-${i}`);
    let accepted = 0;
    let next = 0;
    const victimName = await invokeLeader();
    const victim = cluster.nodes.find((n) => n.name === victimName) ?? cluster.nodes[0]!;
    let chaos: Promise<number> = Promise.resolve(0);
    const lane = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++]!;
        await call(id, counters);
        accepted++;
        if (accepted === Math.floor(CALLS * 0.3)) chaos = killAndRestart(victim, () => accepted);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    const downMs = await chaos;
    const acceptedAt = Date.now();

    const want = new Set(ids);
    await eventually(() => distinctCallbacks(want) === CALLS, 90_000).catch(() => {});
    const received = distinctCallbacks(want);
    const callbacks = sink.requests.filter((r) => r.url === "/cb").length;
    const runs = await runsById(join(dir, "runs.log"));
    const ranTwice = [...runs.values()].filter((n) => n > 1).length;
    const figures = {
      calls: CALLS,
      accepted,
      publishRetries: counters.retries,
      killed: victim.name,
      downSeconds: downMs / 1000,
      lost: CALLS - received,
      duplicateCallbacks: callbacks - received,
      ranMoreThanOnce: ranTwice,
      acceptSeconds: (acceptedAt - started) / 1000,
      totalSeconds: (Date.now() - started) / 1000,
    };
    process.stdout.write(`cluster figures: ${JSON.stringify(figures)}\n`);
    expect(accepted).toBe(CALLS);
    expect(figures.lost).toBe(0);
    expect(victim.running()).toBe(true);
    // The restarted node catches up: every replica of the invoke stream is current again.
    await eventually(async () => {
      const info = await (await jetstreamManager(stack.nc)).streams.info(Streams.Invoke);
      return (info.cluster?.replicas ?? []).every((r) => r.current);
    }, 30_000);
  }, 150_000);
});

/** SIGKILLs a node once 30% of calls are accepted, restarts it at 70% (or after 10 s). */
async function killAndRestart(
  node: NatsCluster["nodes"][number],
  accepted: () => number,
): Promise<number> {
  await node.halt({ kill: true });
  const downAt = Date.now();
  const until = Date.now() + 10_000;
  while (accepted() < CALLS * 0.7 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const downMs = Date.now() - downAt;
  await node.start();
  return downMs;
}

function distinctCallbacks(want: Set<string>): number {
  const seen = new Set<string>();
  for (const r of sink.requests) {
    const id = r.headers["x-call-id"];
    if (typeof id === "string" && want.has(id)) seen.add(id);
  }
  return seen.size;
}
