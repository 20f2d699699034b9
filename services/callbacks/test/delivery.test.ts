import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { Webhook as SvixWebhook } from "svix";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CALLBACK_BACKOFF_TYPE, CALLBACK_QUEUE, callKey, type CallbackJob } from "@ferry/contracts";
import { createAddressPolicy, createLogger } from "@ferry/runtime";
import {
  startAll,
  startHttpSink,
  startRedis,
  type HttpSink,
  type ServerHandle,
} from "@ferry/testkit";
import { createCallbackWorker, createSigner, type CallbackWorker } from "../src/index.js";

const OLD_SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const NEW_SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const logger = createLogger({ name: "test", level: "silent" });
let redis: ServerHandle;
let sink: HttpSink;
let client: Redis;
let queue: Queue<CallbackJob>;
const workers: CallbackWorker[] = [];
const connections: Redis[] = [];

function startWorker(allowlist: string[]): void {
  const bull = new Redis(redis.url, { maxRetriesPerRequest: null });
  connections.push(bull);
  workers.push(
    createCallbackWorker({
      redis: client,
      bullRedis: bull,
      logger,
      timeoutMs: 2_000,
      retry: { attempts: 4, baseDelayMs: 50, maxDelayMs: 5_000 },
      signingSecrets: [OLD_SECRET, NEW_SECRET],
      addressPolicy: createAddressPolicy(allowlist),
    }),
  );
}

beforeAll(async () => {
  [redis, sink] = await startAll([startRedis(), startHttpSink()]);
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  queue = new Queue<CallbackJob>(CALLBACK_QUEUE, { connection: client });
  startWorker(["127.0.0.1"]);
  sink.respondWith((r) => {
    const plan = /\/plan\/([\d,]+)/.exec(r.url)?.[1]?.split(",") ?? [];
    const attempt = Number(r.headers["x-ferry-attempt"]);
    const status = Number(plan[attempt - 1] ?? 200);
    return status === 429 ? { status, headers: { "retry-after": "1" } } : { status };
  });
});

afterAll(async () => {
  for (const w of workers) await w.stop();
  await queue?.close();
  await Promise.all([client, ...connections].map((c) => c?.quit()));
  await Promise.all([redis?.stop(), sink?.close()]);
});

let seq = 0;
async function enqueue(url: string, body = Buffer.from("result")): Promise<string> {
  const callId = `cb-${process.pid}-${++seq}`;
  await client.hset(callKey(callId), { callId, status: "succeeded", callbackState: "pending" });
  await queue.add(
    "deliver",
    {
      callId,
      function: "fn",
      url,
      statusCode: 200,
      durationSeconds: 0.25,
      startTime: Date.now(),
      contentType: "application/json",
      body: body.toString("base64"),
    },
    { jobId: callId, attempts: 100, backoff: { type: CALLBACK_BACKOFF_TYPE } },
  );
  return callId;
}

const forCall = (callId: string) => (r: { headers: Record<string, unknown> }) =>
  r.headers["x-call-id"] === callId;

async function stateOf(callId: string, want: string): Promise<Record<string, string>> {
  for (let i = 0; i < 200; i++) {
    const record = await client.hgetall(callKey(callId));
    if (record.callbackState === want) return record;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`call ${callId} never reached callback state ${want}`);
}

/** An implementation of the Standard Webhooks check written from the spec, sharing no code. */
function verifyBySpec(secret: string, headers: Record<string, unknown>, body: Buffer): boolean {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const signed = `${String(headers["webhook-id"])}.${String(headers["webhook-timestamp"])}.${body.toString()}`;
  const expected = createHmac("sha256", key).update(signed).digest();
  return String(headers["webhook-signature"])
    .split(" ")
    .map((s) => Buffer.from(s.replace(/^v1,/, ""), "base64"))
    .some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected));
}

describe("callback delivery", () => {
  test("signing - an independent verifier accepts either secret and rejects a tampered body", async () => {
    const body = Buffer.from(JSON.stringify({ hello: "world" }));
    const callId = await enqueue(`${sink.url}/signed`, body);
    const [cb] = await sink.waitFor(1, { filter: forCall(callId) });
    const headers = cb?.headers as Record<string, string>;
    expect(headers["webhook-id"]).toBe(callId);
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    for (const secret of [OLD_SECRET, NEW_SECRET]) {
      expect(new SvixWebhook(secret).verify(cb?.body.toString() ?? "", headers)).toEqual({
        hello: "world",
      });
      expect(verifyBySpec(secret, headers, cb?.body ?? Buffer.alloc(0))).toBe(true);
      expect(() => new SvixWebhook(secret).verify('{"hello":"w0rld"}', headers)).toThrow(
        /signature/i,
      );
    }
    const stranger = `whsec_${randomBytes(32).toString("base64")}`;
    expect(() => new SvixWebhook(stranger).verify(cb?.body.toString() ?? "", headers)).toThrow();
  });

  test("signing - an old timestamp is rejected although the signature matches it", () => {
    const body = Buffer.from("{}");
    const old = createSigner([NEW_SECRET])?.headers(
      "call-1",
      body,
      new Date(Date.now() - 3_600_000),
    );
    expect(verifyBySpec(NEW_SECRET, old ?? {}, body)).toBe(true);
    expect(() => new SvixWebhook(NEW_SECRET).verify("{}", old ?? {})).toThrow(/too old/i);
  });

  test("retries - 500 then 503 then 200 delivers on the third attempt", async () => {
    const callId = await enqueue(`${sink.url}/plan/500,503,200`);
    const record = await stateOf(callId, "delivered");
    const got = sink.requests.filter(forCall(callId));
    expect(got.map((r) => r.headers["x-ferry-attempt"])).toEqual(["1", "2", "3"]);
    expect(record.callbackAttempts).toBe("3");
  });

  test("retries - 429 waits at least its Retry-After before the next attempt", async () => {
    const callId = await enqueue(`${sink.url}/plan/429,200`);
    await stateOf(callId, "delivered");
    const [first, second] = sink.requests.filter(forCall(callId));
    // The policy's own wait is 25-50 ms here; Retry-After asked for 1 s.
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  test("retries - 410 Gone stops delivery after one attempt", async () => {
    const callId = await enqueue(`${sink.url}/plan/410`);
    const record = await stateOf(callId, "failed");
    expect(sink.requests.filter(forCall(callId))).toHaveLength(1);
    expect(record.callbackError).toMatch(/410/);
  });

  test("retries - a 404 is not retried and a receiver that keeps failing is given up after the attempts", async () => {
    const notFound = await enqueue(`${sink.url}/plan/404`);
    const failing = await enqueue(`${sink.url}/plan/500,500,500,500,500`);
    await stateOf(notFound, "failed");
    const record = await stateOf(failing, "failed");
    expect(sink.requests.filter(forCall(notFound))).toHaveLength(1);
    expect(sink.requests.filter(forCall(failing))).toHaveLength(4);
    expect(record.callbackAttempts).toBe("4");
  });

  test("timeout - an attempt the receiver does not answer in time is retried (a duplicate for it)", async () => {
    let seen = 0;
    // Holds the first request unanswered past the 2 s attempt timeout, answers the second.
    const slow = createServer((req, res) => {
      req.resume();
      if (++seen > 1) res.end("ok");
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    try {
      const callId = await enqueue(`http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`);
      const record = await stateOf(callId, "delivered");
      expect(seen).toBe(2);
      expect(record.callbackAttempts).toBe("2");
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });

  test("SSRF at delivery - a loopback receiver not allowlisted is never contacted", async () => {
    await workers.shift()?.stop();
    startWorker([]);
    try {
      const byAddress = await enqueue(`${sink.url}/blocked`);
      const byName = await enqueue(`http://localhost:${sink.port}/blocked`);
      const a = await stateOf(byAddress, "failed");
      const b = await stateOf(byName, "failed");
      expect(a.callbackError).toMatch(/blocked/);
      expect(b.callbackError).toMatch(/blocked/);
      expect(sink.requests.filter((r) => r.url === "/blocked")).toHaveLength(0);
    } finally {
      await workers.shift()?.stop();
      startWorker(["127.0.0.1"]);
    }
  });
});
