import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger } from "@ferry/runtime";
import {
  startAll,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
} from "@ferry/testkit";
import { startReplica, startStack, type Replica, type Stack } from "../src/index.js";
import { FIXTURES, eventually, lastInvokeSeq, recorderSpec, runsById } from "./helpers.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let replica: Replica;
let stack: Stack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-async-"));
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  const spec = recorderSpec("recorder", join(dir, "runs.log"));
  replica = await startReplica(spec, FIXTURES, logger);
  stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    maxBodyBytes: 64 * 1024,
    callbackAllowlist: ["127.0.0.1"],
    resolveEndpoint: (s) => (s.name === "recorder" ? replica.url : s.url),
  });
  await stack.registry.put(spec);
});

afterAll(async () => {
  await stack?.stop();
  await replica?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  await rm(dir, { recursive: true, force: true });
});

const post = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${stack.gatewayUrl}${path}`, { method: "POST", ...init });

describe("async path", () => {
  test("async call - 202 after the publish, then the callback brings the body and the OpenFaaS headers", async () => {
    const before = Date.now();
    const res = await post("/async-function/recorder/some/path?x=1", {
      headers: { "x-callback-url": `${sink.url}/cb`, "content-type": "text/plain" },
      body: "hello ferry",
    });
    const after = Date.now();
    expect(res.status).toBe(202);
    const callId = res.headers.get("x-call-id");
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    // Unix nanoseconds, within the request.
    const startTime = BigInt(res.headers.get("x-start-time") ?? "0");
    expect(startTime).toBeGreaterThanOrEqual(BigInt(before) * 1_000_000n);
    expect(startTime).toBeLessThan(BigInt(after + 1) * 1_000_000n);
    const [cb] = await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === callId });
    expect(cb?.method).toBe("POST");
    expect(cb?.url).toBe("/cb");
    expect(cb?.body.toString()).toBe("hello ferry");
    expect(cb?.headers["content-type"]).toBe("text/plain");
    expect(cb?.headers["x-function-name"]).toBe("recorder");
    expect(cb?.headers["x-function-status"]).toBe("200");
    expect(Number(cb?.headers["x-duration-seconds"])).toBeGreaterThan(0);
    expect(cb?.headers["x-start-time"]).toBe(res.headers.get("x-start-time"));
  });

  test("async call - a caller's X-Call-Id is kept and a repeat within the dedupe window runs once", async () => {
    const headers = { "x-callback-url": `${sink.url}/dup`, "x-call-id": "my-call-1" };
    const first = await post("/async-function/recorder", { headers, body: "a" });
    const second = await post("/async-function/recorder", { headers, body: "a" });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.headers.get("x-call-id")).toBe("my-call-1");
    await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === "my-call-1" });
    const runs = await runsById(join(dir, "runs.log"));
    expect(runs.get("my-call-1")).toBe(1);
  });

  test("unknown function - 404 with the error shape and nothing published", async () => {
    const before = await lastInvokeSeq(stack.nc);
    const res = await post("/async-function/nope", { body: "x" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: "FERRY_ERR_FUNCTION_NOT_FOUND", message: 'function "nope" not found' },
    });
    expect(await lastInvokeSeq(stack.nc)).toBe(before);
  });

  test.each(["not a url", "ftp://example.com/x", "/relative/path", "http://user:pw@127.0.0.1/"])(
    "bad callback URL - %s gives 400 and nothing published",
    async (url) => {
      const before = await lastInvokeSeq(stack.nc);
      const res = await post("/async-function/recorder", {
        headers: { "x-callback-url": url },
        body: "x",
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        "FERRY_ERR_BAD_CALLBACK_URL",
      );
      expect(await lastInvokeSeq(stack.nc)).toBe(before);
    },
  );

  test("body limit - a body over the limit gives 413 and nothing published", async () => {
    const before = await lastInvokeSeq(stack.nc);
    const res = await post("/async-function/recorder", { body: Buffer.alloc(64 * 1024 + 1, 97) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_PAYLOAD_TOO_LARGE",
    );
    expect(await lastInvokeSeq(stack.nc)).toBe(before);
  });

  test("readiness - /healthz and /readyz answer 200 while NATS is up", async () => {
    expect((await fetch(`${stack.gatewayUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.gatewayUrl}/readyz`)).status).toBe(200);
  });

  test("status - the call's outcome is recorded in Redis before the callback", async () => {
    const res = await post("/async-function/recorder", {
      headers: { "x-callback-url": `${sink.url}/st` },
      body: "s",
    });
    const callId = res.headers.get("x-call-id") ?? "";
    await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === callId });
    const { Redis } = await import("ioredis");
    const client = new Redis(redis.url);
    const record = await client.hgetall(`ferry:call:${callId}`);
    await client.quit();
    expect(record).toMatchObject({
      status: "succeeded",
      statusCode: "200",
      function: "recorder",
      attempts: "1",
    });
  });

  // Last: it stops NATS.
  test("readiness - /readyz and new calls answer 503 while NATS is down, and recover after", async () => {
    await nats.halt({ kill: true });
    await eventually(async () => (await fetch(`${stack.gatewayUrl}/readyz`)).status === 503);
    const refused = await post("/async-function/recorder", { body: "x" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_UNAVAILABLE",
    );
    await nats.restart();
    await eventually(async () => (await fetch(`${stack.gatewayUrl}/readyz`)).status === 200);
    const res = await post("/async-function/recorder", {
      headers: { "x-callback-url": `${sink.url}/after` },
      body: "back",
    });
    expect(res.status).toBe(202);
    await sink.waitFor(1, { filter: (r) => r.url === "/after" });
  });
});
