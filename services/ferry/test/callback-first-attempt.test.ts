import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CALLBACK_QUEUE } from "@ferry/contracts";
import { createLogger } from "@ferry/runtime";
import {
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
} from "@ferry/testkit";
import { startStack, type Stack } from "../src/index.js";
import { eventually } from "./helpers.js";
import { signatureValid, statusOf, watchStatus } from "./helpers-callbacks.js";

// The worker makes each callback's first attempt as soon as the outcome is stored; the callbacks
// service makes the later ones. These tests show the hand-over from the receiver's side.
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let fn: HttpSink;
let receiver: HttpSink;
/** Its own origin: a receiver that failed is skipped by the worker's attempts for a while. */
let slowReceiver: HttpSink;
let stack: Stack;
let client: Redis;
let queue: Queue;
let gone = true;

beforeAll(async () => {
  [nats, redis, fn, receiver, slowReceiver] = await Promise.all([
    startNats(),
    startRedis(),
    startHttpSink(),
    startHttpSink(),
    startHttpSink(),
  ]);
  fn.respondWith((r) => ({ status: 200, body: `done: ${r.body.toString()}` }));
  receiver.respondWith((r) => {
    const attempt = r.headers["x-ferry-callback-attempt"];
    if (r.url === "/flaky" && attempt === "1") return { status: 503 };
    if (r.url === "/gone" && gone) return { status: 410 };
    return { status: 200 };
  });
  // Slower than the worker's attempt may take, well within the service's timeout.
  slowReceiver.respondWith(() => ({ status: 200, delayMs: 1_000 }));
  stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    callbackAllowlist: ["127.0.0.1"],
    signingSecrets: [SECRET],
    callbackRetry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 },
    callbackTimeoutMs: 5_000,
    callbackFirstAttempt: { timeoutMs: 300 },
  });
  await stack.registry.put({ name: "fn", url: `${fn.url}/fn` });
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(CALLBACK_QUEUE, { connection: client });
});

afterAll(async () => {
  await queue?.close();
  await client?.quit();
  await stack?.stop();
  const sinks = [fn, receiver, slowReceiver];
  await Promise.all([nats?.stop(), redis?.stop(), ...sinks.map((s) => s?.close())]);
});

async function call(path: string, body: string, to = receiver): Promise<string> {
  const res = await fetch(`${stack.gatewayUrl}/async-function/fn`, {
    method: "POST",
    headers: { "x-callback-url": `${to.url}${path}` },
    body,
  });
  expect(res.status).toBe(202);
  return res.headers.get("x-call-id") ?? "";
}

const to = (path: string, callId: string) => (r: { url: string; headers: object }) =>
  r.url === path && (r.headers as Record<string, unknown>)["x-call-id"] === callId;

/** The callback attempts a call's timeline records, as the dashboard shows them. */
async function callbackEntries(
  callId: string,
): Promise<{ e: string; n: number; status?: string; code?: number }[]> {
  const res = await fetch(`${stack.gatewayUrl}/system/calls/${callId}`);
  const view = (await res.json()) as {
    timeline: { e: string; n: number; status?: string; code?: number }[];
  };
  return view.timeline.filter((e) => e.e === "callback");
}

async function callbackTimeline(callId: string): Promise<string[]> {
  return (await callbackEntries(callId)).map((e) => `${e.n}:${e.status}`);
}

describe("callback first attempt", () => {
  test("delivered by the worker - signed, recorded, and no queue job was needed", async () => {
    const callId = await call("/ok", "one");
    const [got] = await receiver.waitFor(1, { filter: to("/ok", callId) });
    expect(got?.body.toString()).toBe("done: one");
    expect(got?.headers["x-ferry-callback-attempt"]).toBe("1");
    expect(signatureValid(SECRET, got?.headers ?? {}, got?.body ?? Buffer.alloc(0))).toBe(true);
    const { last } = await watchStatus(
      stack.gatewayUrl,
      callId,
      (s) => s.callback.state === "delivered",
    );
    expect(last.callback.attempts).toBe(1);
    expect(await callbackTimeline(callId)).toEqual(["1:delivered"]);
    expect(await queue.getJob(callId)).toBeUndefined();
    const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/callback_deliveries_total\{outcome="delivered"\} [1-9]/);
  });

  test("a receiver that looks the call up on its callback finds the outcome stored", async () => {
    // The worker sends the callback once the outcome's write is on its way, not answered: a
    // receiver checking the status API before it answers must still see the final status.
    const seen: string[] = [];
    const lookup = createServer((req, res) => {
      const callId = String(req.headers["x-call-id"]);
      req.resume().on("end", () => {
        void statusOf(stack.gatewayUrl, callId)
          .then((s) => seen.push(`${s?.status}:${s?.result?.bytes}`))
          .catch((err: unknown) => seen.push(String(err)))
          .finally(() => res.writeHead(200).end());
      });
    });
    await new Promise<void>((resolve) => lookup.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(lookup.address() as AddressInfo).port}/cb`;
      const calls = Array.from({ length: 20 }, (_, i) =>
        fetch(`${stack.gatewayUrl}/async-function/fn`, {
          method: "POST",
          headers: { "x-callback-url": url },
          body: `n${i}`,
        }),
      );
      expect((await Promise.all(calls)).map((r) => r.status)).toEqual(Array(20).fill(202));
      await eventually(() => seen.length === 20);
      // "done: nX" is 8 or 9 bytes.
      expect(seen.filter((s) => !/^succeeded:[89]$/.test(s))).toEqual([]);
    } finally {
      lookup.closeAllConnections();
      await new Promise((resolve) => lookup.close(resolve));
    }
  });

  test("410 on the first attempt - delivery ends at once, is listed as failed, and a retry delivers it", async () => {
    gone = true;
    const callId = await call("/gone", "three");
    const { last } = await watchStatus(
      stack.gatewayUrl,
      callId,
      (s) => s.callback.state === "failed",
    );
    expect(last.callback.attempts).toBe(1);
    expect(last.callback.lastError).toMatch(/410/);
    expect(receiver.requests.filter(to("/gone", callId))).toHaveLength(1);
    const failed = (await (await fetch(`${stack.gatewayUrl}/system/callbacks/failed`)).json()) as {
      callbacks: { callId: string; attempts: number; lastError: string }[];
    };
    const listed = failed.callbacks.find((c) => c.callId === callId);
    expect(listed).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/410/) });

    gone = false;
    const retry = await fetch(`${stack.gatewayUrl}/system/callbacks/${callId}/retry`, {
      method: "POST",
    });
    expect(retry.status).toBe(202);
    const got = await receiver.waitFor(2, { filter: to("/gone", callId) });
    // A fresh round of attempts: it counts from 1 again.
    expect(got[1]?.headers["x-ferry-callback-attempt"]).toBe("1");
    await watchStatus(stack.gatewayUrl, callId, (s) => s.callback.state === "delivered");
  });

  // After 410 above: a 503 makes the worker skip this receiver's first attempts for a while.
  test("a failed first attempt (503) - the callbacks service makes attempt 2, signed the same way", async () => {
    const callId = await call("/flaky", "two");
    const got = await receiver.waitFor(2, { filter: to("/flaky", callId) });
    expect(got.map((r) => r.headers["x-ferry-callback-attempt"])).toEqual(["1", "2"]);
    expect(got.map((r) => r.headers["webhook-id"])).toEqual([callId, callId]);
    for (const r of got) expect(signatureValid(SECRET, r.headers, r.body)).toBe(true);
    const { last } = await watchStatus(
      stack.gatewayUrl,
      callId,
      (s) => s.callback.state === "delivered",
    );
    expect(last.callback.attempts).toBe(2);
    expect(await callbackTimeline(callId)).toEqual(["1:retry", "2:delivered"]);
    // The receiver's answer to each attempt, as the dashboard shows it.
    expect((await callbackEntries(callId)).map((e) => e.code)).toEqual([503, 200]);
  });

  test("a receiver slower than the worker's attempt - the service delivers it with its own timeout", async () => {
    const callId = await call("/slow", "four", slowReceiver);
    const { last } = await watchStatus(
      stack.gatewayUrl,
      callId,
      (s) => s.callback.state === "delivered",
    );
    // The worker gave up after its 300 ms; the service waited the second out.
    expect(last.callback.attempts).toBe(2);
    // The call itself was settled (and acked) without waiting for the slow receiver.
    expect((await statusOf(stack.gatewayUrl, callId))?.status).toBe("succeeded");
    await eventually(async () => (await queue.getJob(callId))?.finishedOn !== undefined);
  });
});
