import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BODIES_BUCKET, Streams } from "@ferry/contracts";
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
import { FIXTURES, eventually, lastInvokeSeq, recorderSpec } from "./helpers.js";
import { chainSpec, sha256, statusOf, watchStatus } from "./helpers-callbacks.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let stack: Stack;
let strict: Stack;
let dir: string;
const replicas = new Map<string, Replica>();
let gone = true;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-status-"));
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  sink.respondWith((r) => ({ status: r.url === "/gone" && gone ? 410 : 200 }));
  const log = join(dir, "runs.log");
  const specs = [
    recorderSpec("rec", log),
    chainSpec("chain-a", log, "A:", {
      onSuccess: { function: "chain-b" },
      onFailure: { topic: "chain.failures" },
    }),
    chainSpec("chain-b", log, "B:"),
  ];
  for (const spec of specs) replicas.set(spec.name, await startReplica(spec, FIXTURES, logger));
  const common = { natsUrl: nats.url, redisUrl: redis.url, logger, port: 0 };
  stack = await startStack({
    ...common,
    // One call at a time, so that a call can be seen waiting behind another.
    maxInflight: 1,
    callbackAllowlist: ["127.0.0.1", "::1", "localhost"],
    callbackRetry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 1_000 },
    resolveEndpoint: (s) => replicas.get(s.name)?.url ?? s.url,
  });
  // A gateway with no allowlist: the SSRF guard at its default.
  strict = await startStack({ ...common, worker: false, callbacks: false });
  for (const spec of specs) await stack.registry.put(spec);
  await eventually(() => strict.registry.get("chain-b") !== undefined);
});

afterAll(async () => {
  await strict?.stop();
  await stack?.stop();
  await Promise.all([...replicas.values()].map((r) => r.stop()));
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  await rm(dir, { recursive: true, force: true });
});

const post = (path: string, init: RequestInit = {}, on: Stack = stack): Promise<Response> =>
  fetch(`${on.gatewayUrl}${path}`, { method: "POST", ...init });
const callIdOf = (res: Response): string => res.headers.get("x-call-id") ?? "";

describe("status API", () => {
  test("status - a call moves queued → running → succeeded as seen through the API", async () => {
    const blocker = await post("/async-function/rec?sleep=1000", { body: "first" });
    expect(blocker.status).toBe(202);
    const res = await post("/async-function/rec?sleep=500", {
      headers: { "x-callback-url": `${sink.url}/status` },
      body: "second",
    });
    const callId = callIdOf(res);
    const { seen, last } = await watchStatus(
      stack.gatewayUrl,
      callId,
      (s) => s.callback.state === "delivered",
    );
    expect(seen.slice(0, 3)).toEqual(["queued", "running", "succeeded"]);
    expect(last).toMatchObject({
      callId,
      function: "rec",
      status: "succeeded",
      attempts: 1,
      statusCode: 200,
      result: { bytes: 6, stored: true },
      callback: { url: `${sink.url}/status`, state: "delivered", attempts: 1 },
    });
    const times = [last.enqueuedAt, last.startedAt, last.finishedAt].map((t) =>
      Date.parse(t ?? ""),
    );
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(last.durationMs).toBeGreaterThanOrEqual(500);
  });

  test("status - a function answering 500 ends dead-lettered after its retries, and its result says so", async () => {
    const callId = callIdOf(await post("/async-function/rec?status=500", { body: "boom" }));
    const { last } = await watchStatus(
      stack.gatewayUrl,
      callId,
      (s) => s.status === "dead-lettered",
    );
    expect(last.statusCode).toBe(500);
    const result = await fetch(`${stack.gatewayUrl}/async-function/result/${callId}`);
    expect(result.status).toBe(200);
    expect(result.headers.get("x-function-status")).toBe("500");
    expect(await result.text()).toBe("boom");
  });

  test("status - repeating a finished call's id within the dedupe window keeps its status", async () => {
    const headers = { "x-call-id": "status-repeat-1" };
    await post("/async-function/rec", { headers, body: "once" });
    await watchStatus(stack.gatewayUrl, "status-repeat-1", (s) => s.status === "succeeded");
    expect((await post("/async-function/rec", { headers, body: "once" })).status).toBe(202);
    expect((await statusOf(stack.gatewayUrl, "status-repeat-1"))?.status).toBe("succeeded");
  });

  test("status - unknown call ids give 404, malformed ones 400, on both routes", async () => {
    for (const route of ["status", "result"]) {
      for (const [id, status, code] of [
        ["no-such-call", 404, "FERRY_ERR_CALL_NOT_FOUND"],
        ["bad%20id", 400, "FERRY_ERR_BAD_CALL_ID"],
      ] as const) {
        const res = await fetch(`${stack.gatewayUrl}/async-function/${route}/${id}`);
        expect(res.status).toBe(status);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
      }
    }
  });

  test("result - a binary body round-trips byte for byte, to the callback and through the API", async () => {
    const body = randomBytes(200_000);
    body[0] = 0;
    body[1] = 0xff;
    const res = await post("/async-function/rec", {
      headers: { "content-type": "image/png", "x-callback-url": `${sink.url}/binary` },
      body,
    });
    const callId = callIdOf(res);
    const [cb] = await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === callId });
    expect(cb?.body.equals(body)).toBe(true);
    const result = await fetch(`${stack.gatewayUrl}/async-function/result/${callId}`);
    expect(result.headers.get("content-type")).toBe("image/png");
    expect(result.headers.get("x-function-status")).toBe("200");
    expect(Buffer.from(await result.arrayBuffer()).equals(body)).toBe(true);
  });

  test("result - a receiver that looks the call up on its callback finds it final, small or large", async () => {
    // The worker overlaps the outcome's write with the callback's first attempt; the write must
    // have reached Redis whatever its size. Large results leave the worker in several writes.
    for (const size of [1_000, 400_000, 10, 1_000_000, 2_000, 800_000]) {
      const body = randomBytes(size);
      const res = await post("/async-function/rec", {
        headers: {
          "content-type": "application/octet-stream",
          "x-callback-url": `${sink.url}/look`,
        },
        body,
      });
      const callId = callIdOf(res);
      await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === callId });
      const result = await fetch(`${stack.gatewayUrl}/async-function/result/${callId}`);
      expect(result.status, `a ${size}-byte result on its callback`).toBe(200);
      expect(Buffer.from(await result.arrayBuffer()).equals(body)).toBe(true);
    }
  });

  test("large body - 20 MB goes through the object store, arrives whole and is deleted after", async () => {
    const body = randomBytes(20 * 1024 * 1024);
    const res = await post("/async-function/rec", {
      headers: { "x-callback-url": `${sink.url}/large` },
      body,
    });
    expect(res.status).toBe(202);
    const callId = callIdOf(res);
    const [cb] = await sink.waitFor(1, {
      filter: (r) => r.headers["x-call-id"] === callId,
      timeoutMs: 60_000,
    });
    expect(cb?.body.length).toBe(body.length);
    expect(sha256(cb?.body ?? Buffer.alloc(0))).toBe(sha256(body));
    const status = await statusOf(stack.gatewayUrl, callId);
    // Larger than the stored-result limit: delivered, not kept.
    expect(status?.result).toMatchObject({ bytes: body.length, stored: false });
    expect((await fetch(`${stack.gatewayUrl}/async-function/result/${callId}`)).status).toBe(410);
    // Deleted: its chunks purged, a delete marker left for the bucket's max age to sweep.
    const store = await new Objm(stack.nc).open(BODIES_BUCKET);
    const info = await store.info(callId);
    expect(info?.deleted).toBe(true);
    expect(info?.chunks).toBe(0);
    expect((await store.status()).size).toBeLessThan(1024 * 1024);
  });

  test("large body - over the configured maximum gives 413 and nothing published", async () => {
    const before = await lastInvokeSeq(stack.nc);
    const res = await post("/async-function/rec", { body: Buffer.alloc(32 * 1024 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect(await lastInvokeSeq(stack.nc)).toBe(before);
  });
});

describe("callback safety", () => {
  test.each([
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/cb",
    "http://[::1]:9/cb",
    "http://localhost:9/cb",
  ])("SSRF - %s gives 400 and nothing is published", async (url) => {
    const before = await lastInvokeSeq(stack.nc);
    const res = await post(
      "/async-function/rec",
      { headers: { "x-callback-url": url }, body: "x" },
      strict,
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_BAD_CALLBACK_URL",
    );
    expect(await lastInvokeSeq(stack.nc)).toBe(before);
  });

  test("SSRF - allowlisted loopback addresses and names are accepted", async () => {
    for (const url of ["http://[::1]:9/cb", "http://localhost:9/cb", `${sink.url}/ok`]) {
      const res = await post("/async-function/rec", {
        headers: { "x-callback-url": url },
        body: "x",
      });
      expect(res.status).toBe(202);
    }
  });

  test("credentials - the caller's Authorization and cookies never reach the callback", async () => {
    const res = await post("/async-function/rec", {
      headers: {
        "x-callback-url": `${sink.url}/creds`,
        authorization: "Bearer secret-token",
        cookie: "session=abc",
      },
      body: "c",
    });
    const callId = callIdOf(res);
    const [cb] = await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === callId });
    expect(cb?.headers.authorization).toBeUndefined();
    expect(cb?.headers.cookie).toBeUndefined();
  });

  test("failed deliveries - listed by the API, retried through it, then delivered", async () => {
    gone = true;
    const callId = callIdOf(
      await post("/async-function/rec", {
        headers: { "x-callback-url": `${sink.url}/gone` },
        body: "later",
      }),
    );
    await watchStatus(stack.gatewayUrl, callId, (s) => s.callback.state === "failed");
    const failed = (await (await fetch(`${stack.gatewayUrl}/system/callbacks/failed`)).json()) as {
      callbacks: Array<{ callId: string; lastError: string }>;
    };
    expect(failed.callbacks.find((c) => c.callId === callId)?.lastError).toMatch(/410/);
    const one = await fetch(`${stack.gatewayUrl}/system/callbacks/${callId}`);
    expect(await one.json()).toMatchObject({ callId, state: "failed", url: `${sink.url}/gone` });
    gone = false;
    const retry = await post(`/system/callbacks/${callId}/retry`);
    expect(retry.status).toBe(202);
    const { last } = await watchStatus(
      stack.gatewayUrl,
      callId,
      (s) => s.callback.state === "delivered",
    );
    expect(last.callback.state).toBe("delivered");
    expect(sink.requests.filter((r) => r.headers["x-call-id"] === callId)).toHaveLength(2);
    expect((await post(`/system/callbacks/${callId}/retry`)).status).toBe(400);
    expect((await post("/system/callbacks/nope/retry")).status).toBe(404);
  });
});

describe("destinations", () => {
  test("onSuccess - a chain A → B runs B with A's result", async () => {
    const callId = callIdOf(await post("/async-function/chain-a", { body: "x" }));
    const next = `${callId}.on-success`;
    const { last } = await watchStatus(stack.gatewayUrl, next, (s) => s.status === "succeeded");
    expect(last.function).toBe("chain-b");
    const result = await fetch(`${stack.gatewayUrl}/async-function/result/${next}`);
    expect(await result.text()).toBe("B:A:x");
  });

  test("onFailure - a failed call's result is published as a CloudEvent on its topic", async () => {
    const callId = callIdOf(await post("/async-function/chain-a?status=500", { body: "y" }));
    await watchStatus(stack.gatewayUrl, callId, (s) => s.status === "dead-lettered");
    const jsm = await jetstreamManager(stack.nc);
    let msg: Awaited<ReturnType<typeof jsm.streams.getMessage>> = null;
    await eventually(async () => {
      msg = await jsm.streams.getMessage(Streams.Events, {
        last_by_subj: "ferry.events.chain.failures",
      });
      return msg?.header.get("ce-subject") === callId;
    });
    expect(msg!.header.get("ce-type")).toBe("dev.ferry.call.failed");
    expect(msg!.header.get("x-function-status")).toBe("500");
    expect(msg!.string()).toBe("A:y");
  });
});
