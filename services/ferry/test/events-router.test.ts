import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ROUTER_CONSUMER, createRouter } from "@ferry/router";
import { Streams, type FunctionSpecInput } from "@ferry/contracts";
import { createLogger, freePort } from "@ferry/runtime";
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
import { startStack, type Stack } from "../src/index.js";
import { eventually, lastInvokeSeq, publishTestEvent } from "./helpers.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let stack: Stack;
const children: TsProcess[] = [];

/** A function served by the sink at `/<name>`, subscribed to `triggers`. */
function sinkFunction(name: string, triggers: string[]): FunctionSpecInput {
  return { name, queue: "default", url: `${sink.url}/${name}`, env: {}, timeout: 10_000, triggers };
}

/** Sink requests of one function, by call id. */
function callsOf(fn: string, ceIdPrefix: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const r of sink.requests) {
    if (!r.url.startsWith(`/${fn}/`) || !String(r.headers["ce-id"]).startsWith(ceIdPrefix))
      continue;
    const id = String(r.headers["x-call-id"]);
    calls.set(id, (calls.get(id) ?? 0) + 1);
  }
  return calls;
}

function spawnRouter(healthPort: number): TsProcess {
  const child = spawnTs("services/router/src/main.ts", {
    env: {
      NATS_URL: nats.url,
      HEALTH_PORT: String(healthPort),
      ACK_WAIT: "2s",
      MAX_INFLIGHT: "16",
      LOG_LEVEL: "warn",
    },
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url, logger, port: 0 });
  await stack.registry.put(sinkFunction("fn-a", ["orders.*"]));
  await stack.registry.put(sinkFunction("fn-b", ["orders.created"]));
  await stack.registry.put(sinkFunction("fn-c", ["orders.>"]));
  await stack.registry.put(sinkFunction("fn-other", ["billing.>"]));
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.kill("SIGKILL")));
  await stack?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
});

describe("event router", () => {
  test("router - an event invokes each of its three subscribers once, with its attributes as headers", async () => {
    const router = await createRouter({ nc: stack.nc, registry: stack.registry, logger });
    try {
      await publishTestEvent(stack.nc, "orders.created", "one-1", "order #1");
      const got = await sink.waitFor(3, { filter: (r) => r.headers["ce-id"] === "one-1" });
      expect(got.map((r) => r.url.split("/")[1]).sort()).toEqual(["fn-a", "fn-b", "fn-c"]);
      for (const r of got) {
        expect(r.body.toString()).toBe("order #1");
        expect(r.headers).toMatchObject({
          "x-topic": "orders.created",
          "ce-source": "/test/events",
          "ce-type": "dev.ferry.test",
          "ce-specversion": "1.0",
          "ce-origin": "test",
          "content-type": "text/plain",
        });
      }
      expect(new Set(got.map((r) => r.headers["x-call-id"])).size).toBe(3);
      // The same event published again (a connector retry) is dropped by JetStream's dedupe.
      await publishTestEvent(stack.nc, "orders.created", "one-1", "order #1");
      await publishTestEvent(stack.nc, "orders.created", "one-2", "order #2");
      await sink.waitFor(3, { filter: (r) => r.headers["ce-id"] === "one-2" });
      expect(sink.requests.filter((r) => r.headers["ce-id"] === "one-1")).toHaveLength(3);
      expect(sink.requests.filter((r) => r.url.startsWith("/fn-other/"))).toHaveLength(0);
    } finally {
      await router.stop();
    }
  });

  test("router killed - SIGKILL mid-fan-out and a restart still invoke each subscriber exactly once", async () => {
    const events = 600;
    const jsm = await jetstreamManager(stack.nc);
    const seqBefore = await lastInvokeSeq(stack.nc);
    for (let i = 0; i < events; i++)
      await publishTestEvent(stack.nc, "orders.created", `kill-${i}`);

    const first = spawnRouter(0);
    await eventually(async () => (await lastInvokeSeq(stack.nc)) > seqBefore, 30_000);
    await first.kill("SIGKILL");
    const published = (await lastInvokeSeq(stack.nc)) - seqBefore;
    const info = await jsm.consumers.info(Streams.Events, ROUTER_CONSUMER);
    // Killed mid-fan-out: invocations went out, and events were still unacked or undelivered.
    expect(published).toBeGreaterThan(0);
    expect(published).toBeLessThan(events * 3);
    expect(info.num_ack_pending + info.num_pending).toBeGreaterThan(0);

    const healthPort = await freePort();
    const second = spawnRouter(healthPort);
    await sink.waitFor(events * 3, {
      filter: (r) => String(r.headers["ce-id"]).startsWith("kill-"),
      timeoutMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 1_000));
    for (const fn of ["fn-a", "fn-b", "fn-c"]) {
      const calls = callsOf(fn, "kill-");
      expect(calls.size).toBe(events);
      expect([...calls.values()].every((n) => n === 1)).toBe(true);
    }
    // The restarted router re-published what the first had published but not acked: deduped.
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    const duplicates = [
      ...metrics.matchAll(/router_invocations_total\{[^}]*duplicate="true"[^}]*\} (\d+)/g),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    expect(duplicates).toBeGreaterThan(0);
    console.log(
      `router kill: ${published} of ${events * 3} invocations published before SIGKILL, ${duplicates} deduped after restart`,
    );
    await second.kill("SIGTERM");
  });

  test("replay - re-invokes the events of the last N seconds for one named function only", async () => {
    await stack.registry.put(sinkFunction("fn-d", ["replay.*"]));
    await stack.registry.put(sinkFunction("fn-e", ["replay.*"]));
    await eventually(() => stack.registry.get("fn-e") !== undefined);
    const router = await createRouter({ nc: stack.nc, registry: stack.registry, logger });
    try {
      await publishTestEvent(stack.nc, "replay.demo", "old-1");
      await sink.waitFor(2, { filter: (r) => r.headers["ce-id"] === "old-1" });
      await new Promise((r) => setTimeout(r, 2_500));
      for (const id of ["new-1", "new-2", "new-3"])
        await publishTestEvent(stack.nc, "replay.demo", id);
      await sink.waitFor(6, { filter: (r) => String(r.headers["ce-id"]).startsWith("new-") });

      const res = await fetch(`${stack.gatewayUrl}/system/events/replay`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ topic: "replay.demo", since: "2s", functions: ["fn-d"] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { replayId: string; events: number; invocations: number };
      expect(body).toMatchObject({ events: 3, invocations: 3 });
      const replayed = await sink.waitFor(3, {
        filter: (r) => String(r.headers["x-call-id"]).endsWith(`.r${body.replayId}`),
      });
      expect(replayed.map((r) => r.url.split("/")[1])).toEqual(["fn-d", "fn-d", "fn-d"]);
      expect(replayed.map((r) => r.headers["ce-id"]).sort()).toEqual(["new-1", "new-2", "new-3"]);
      await new Promise((r) => setTimeout(r, 500));
      expect(sink.requests.filter((r) => r.headers["ce-id"] === "old-1")).toHaveLength(2);
      // fn-e got the four originals (old-1, new-1..3) and nothing replayed.
      expect(sink.requests.filter((r) => r.url.startsWith("/fn-e/"))).toHaveLength(4);

      const bad = await fetch(`${stack.gatewayUrl}/system/events/replay`, {
        method: "POST",
        body: JSON.stringify({ topic: "replay.demo", since: "yesterday-ish" }),
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe(
        "FERRY_ERR_BAD_REQUEST",
      );
      const unknown = await fetch(`${stack.gatewayUrl}/system/events/replay`, {
        method: "POST",
        body: JSON.stringify({ topic: "replay.demo", since: "1m", functions: ["nope"] }),
      });
      expect(unknown.status).toBe(404);
    } finally {
      await router.stop();
    }
  });
});
