/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers, checked field by field */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FunctionSpec } from "@ferry/contracts";
import { startConnector, type Source } from "@ferry/connector-sdk";
import { createLogger } from "@ferry/runtime";
import {
  startAll,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
} from "@ferry/testkit";
import { startStack, type Stack } from "../src/index.js";
import { eventually } from "./helpers.js";

// The dashboard's /system API against a real stack (the browser tests drive the pages).

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
/** Functions: `/ok` 200, `/flaky` 503 on a call's first attempt, `/bad` 400. */
let sink: HttpSink;
let stack: Stack;

beforeAll(async () => {
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  sink.respondWith((r) => {
    if (r.url.startsWith("/bad")) return { status: 400, body: "no" };
    if (r.url.startsWith("/flaky") && r.headers["x-ferry-attempt"] === "1") {
      return { status: 503, body: "busy" };
    }
    return { status: 200, body: `ok ${r.body.toString()}` };
  });
  stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    callbackAllowlist: ["127.0.0.1"],
  });
  const spec = (name: string, path: string, extra: Record<string, unknown> = {}): FunctionSpec =>
    FunctionSpec.parse({ name, url: `${sink.url}${path}`, timeout: 10_000, ...extra });
  await stack.registry.put(spec("ok", "/ok"));
  await stack.registry.put(
    spec("flaky", "/flaky", {
      queue: "slow",
      retry: { attempts: 3, minWait: "20ms", maxWait: "50ms" },
    }),
  );
  await stack.registry.put(spec("bad", "/bad"));
  await stack.registry.put(
    FunctionSpec.parse({ name: "local", watchdog: { fprocess: "node x.js" }, maxReplicas: 2 }),
  );
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
});

const get = async (path: string): Promise<{ status: number; body: any }> => {
  const res = await fetch(`${stack.gatewayUrl}${path}`);
  return { status: res.status, body: await res.json() };
};
const post = async (
  path: string,
  body?: string,
): Promise<{ status: number; body: any; callId: string }> => {
  const res = await fetch(`${stack.gatewayUrl}${path}`, {
    method: "POST",
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? JSON.parse(text) : null,
    callId: res.headers.get("x-call-id") ?? "",
  };
};
const finalOf = async (callId: string, status: string): Promise<void> =>
  eventually(async () => (await get(`/system/calls/${callId}`)).body.status === status);

describe("dashboard API", () => {
  test("calls - recent calls newest first, searchable by part of an id and filtered by status", async () => {
    const a = await post("/async-function/ok", "a");
    const b = await post("/async-function/bad", "b");
    await finalOf(a.callId, "succeeded");
    await finalOf(b.callId, "dead-lettered");
    const all = await get("/system/calls?limit=10");
    expect(all.status).toBe(200);
    expect(all.body.items.map((c: { callId: string }) => c.callId).slice(0, 2)).toEqual([
      b.callId,
      a.callId,
    ]);
    const part = await get(`/system/calls?q=${a.callId.slice(4, 16)}`);
    expect(part.body.items.map((c: { callId: string }) => c.callId)).toEqual([a.callId]);
    const exact = await get(`/system/calls?q=${b.callId}`);
    expect(exact.body.items[0]).toMatchObject({ callId: b.callId, status: "dead-lettered" });
    const dead = await get("/system/calls?status=dead-lettered&function=bad");
    expect(dead.body.items.map((c: { callId: string }) => c.callId)).toContain(b.callId);
    expect(dead.body.items.every((c: { status: string }) => c.status === "dead-lettered")).toBe(
      true,
    );
    expect((await get("/system/calls?status=sleeping")).body.error.code).toBeDefined();
    expect((await get("/system/calls?status=sleeping")).status).toBe(400);
    expect((await get("/system/calls?limit=0")).status).toBe(400);
    expect((await get("/system/calls/not*an*id")).status).toBe(400);
    expect(
      (await get(`/system/calls/${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}`)).status,
    ).toBe(404);
  });

  test("timeline - enqueued, a failed attempt with its status and wait, the retry, the final state; request and result", async () => {
    const { callId } = await post("/async-function/flaky", "payload");
    await finalOf(callId, "succeeded");
    const call = (await get(`/system/calls/${callId}`)).body;
    expect(call.timeline.map((e: { e: string }) => e.e)).toEqual([
      "enqueued",
      "attempt",
      "attempt-failed",
      "attempt",
      "final",
    ]);
    expect(call.timeline[2]).toMatchObject({ n: 1, code: 503 });
    expect(call.timeline[2].retryInMs).toBeGreaterThanOrEqual(0);
    expect(call.timeline[4]).toMatchObject({ n: 2, status: "succeeded", code: 200 });
    expect(call.request).toMatchObject({ bytes: 7, truncated: false });
    expect(call.request.preview.text).toBe("payload");
    expect(call.resultPreview).toMatchObject({ text: "ok payload", truncated: false });
    expect(call.queue).toBe("slow");
  });

  test("stats - accepts, completions by outcome and latency percentiles per 10 s bucket and per function", async () => {
    await eventually(async () => {
      const stats = (await get("/system/stats?minutes=5")).body;
      return (stats.functions.ok?.done?.succeeded ?? 0) >= 1;
    });
    const stats = (await get("/system/stats?minutes=5")).body;
    expect(stats.bucketMs).toBe(10_000);
    expect(stats.buckets).toHaveLength(30);
    const sum = (f: (b: any) => number): number =>
      stats.buckets.reduce((n: number, b: any) => n + f(b), 0);
    expect(sum((b) => b.accepted)).toBeGreaterThanOrEqual(3);
    expect(sum((b) => b.done["dead-lettered"] ?? 0)).toBeGreaterThanOrEqual(1);
    const withLatency = stats.buckets.filter((b: any) => b.e2e);
    expect(withLatency.length).toBeGreaterThan(0);
    expect(withLatency[0].e2e.p50).toBeLessThanOrEqual(withLatency[0].e2e.p99);
    expect(stats.functions.ok.duration.p50).toBeGreaterThanOrEqual(1);
    expect((await get("/system/stats?minutes=99")).status).toBe(400);
  });

  test("queues - per queue waiting, running, redelivered, oldest age and dead letters", async () => {
    const queues = (await get("/system/queues")).body;
    const byName = Object.fromEntries(queues.map((q: { queue: string }) => [q.queue, q]));
    expect(byName.default).toMatchObject({ waiting: 0, running: 0, oldestAgeSeconds: null });
    expect(byName.default.dlq).toBeGreaterThanOrEqual(1);
    expect(byName.slow).toMatchObject({ functions: ["flaky"], dlq: 0 });
    const overview = (await get("/system/overview")).body;
    expect(overview.queues).toHaveLength(queues.length);
    expect(overview.stats.buckets).toHaveLength(90);
  });

  test("scale, invoke and cancel - act on functions and calls through /system", async () => {
    expect((await post("/system/scale-function/nope", '{"replicas":1}')).status).toBe(404);
    expect((await post("/system/scale-function/ok", '{"replicas":1}')).status).toBe(400);
    expect((await post("/system/scale-function/local", '{"replicas":-1}')).status).toBe(400);
    expect((await post("/system/scale-function/local", "{")).status).toBe(400);
    const scaled = await post("/system/scale-function/local", '{"replicas":3}');
    expect(scaled).toMatchObject({ status: 202, body: { minReplicas: 3, maxReplicas: 3 } });
    await eventually(() => stack.registry.get("local")?.minReplicas === 3);

    const invoked = await post("/system/functions/ok/invoke", "hi");
    expect(invoked.status).toBe(202);
    expect(invoked.body.callId).toBe(invoked.callId);
    await finalOf(invoked.callId, "succeeded");
    expect((await post("/system/functions/nope/invoke", "hi")).status).toBe(404);

    const cancel = await post(`/system/calls/${invoked.callId}/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.message).toContain("succeeded");
  });

  test("stream - server-sent overview events", async () => {
    const abort = new AbortController();
    const res = await fetch(`${stack.gatewayUrl}/system/stream?every=500`, {
      signal: abort.signal,
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    while (!/event: overview\ndata: .*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    abort.abort();
    const data = /event: overview\ndata: (.*)\n/.exec(text)?.[1] ?? "{}";
    expect(JSON.parse(data).queues.length).toBeGreaterThan(0);
  });

  test("connectors - a running connector's heartbeat shows its state, last event and lag; it is gone after it stops", async () => {
    let publish: ((t: string) => Promise<unknown>) | undefined;
    const source: Source = {
      kind: "test",
      async start(ctx) {
        publish = (id) =>
          ctx.publish({
            id,
            type: "dev.ferry.test",
            topic: "dash.test",
            time: new Date(Date.now() - 2_000).toISOString(),
          });
      },
      async stop() {},
    };
    const connector = await startConnector({
      source,
      eventSource: "/test/dashboard",
      nc: stack.nc,
      logger,
      heartbeatMs: 100,
    });
    try {
      await publish?.("e1");
      await eventually(async () => {
        const list = (await get("/system/connectors")).body.connectors;
        return list.some((c: { published: number }) => c.published === 1);
      });
      const [hb] = (await get("/system/connectors")).body.connectors;
      expect(hb).toMatchObject({ kind: "test", eventSource: "/test/dashboard", state: "running" });
      expect(hb.connected).toBe(true);
      expect(hb.lagSeconds).toBeGreaterThanOrEqual(1);
      expect(hb.lastEventAt).toBeGreaterThan(0);
    } finally {
      await connector.stop(1_000);
    }
    expect((await get("/system/connectors")).body.connectors).toEqual([]);
  });

  test("ui - without a dashboard build, /ui answers a JSON 404", async () => {
    const res = await get("/ui");
    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain("not built");
  });
});
