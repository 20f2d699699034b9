import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { callKey, type FunctionSpec } from "@ferry/contracts";
import { createLogger, sleep } from "@ferry/runtime";
import {
  startAll,
  spawnTs,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
  type SinkRequest,
  type TsProcess,
} from "@ferry/testkit";
import { startReplica, startStack, type Replica, type Stack } from "../src/index.js";
import { FIXTURES, eventually, flakySpec, lastInvokeSeq, readRuns, type Run } from "./helpers.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let client: Redis;
let sink: HttpSink;
let replica: Replica;
let stack: Stack;
let dir: string;
const workers: TsProcess[] = [];

/** The test functions, all served by one flaky fixture. */
const specs = (url: string): FunctionSpec[] => [
  flakySpec("retrier", url, {
    retry: { attempts: 4, backoff: "exponential", jitter: "none", minWait: 300, maxWait: 5_000 },
  }),
  flakySpec("twice", url, { retry: { attempts: 2, minWait: 100, jitter: "none" } }),
  flakySpec("slow", url, { timeout: 10_000 }),
  flakySpec("limited", url, { concurrency: 3 }),
  flakySpec("expiring", url, { maxAge: 500 }),
  flakySpec("flood", url, { queue: "bulk" }),
  flakySpec("quick", url),
  flakySpec("draining", url, { queue: "drain" }),
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-reliability-"));
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  client = new Redis(redis.url);
  replica = await startReplica(
    {
      ...flakySpec("flaky", "http://unused"),
      url: undefined,
      watchdog: { fprocess: "node flaky.js", mode: "http" },
      env: { RUN_LOG: join(dir, "runs.log") },
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
  for (const spec of specs(replica.url)) await stack.registry.put(spec);
  // Two workers, as separate processes, share the queues and the per-function limit.
  for (let i = 0; i < 2; i++) await spawnWorker();
});

async function spawnWorker(env: Record<string, string> = {}): Promise<TsProcess> {
  const worker = spawnTs("services/queue-worker/src/main.ts", {
    env: {
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      ACK_WAIT: "1s",
      MAX_INFLIGHT: "16",
      HEALTH_PORT: "0",
      LOG_LEVEL: "info",
      ...env,
    },
  });
  workers.push(worker);
  await worker.waitForOutput("queue-worker started");
  return worker;
}

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill("SIGTERM")));
  await stack?.stop();
  await replica?.stop();
  await client?.quit();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function call(
  fn: string,
  query = "",
  headers: Record<string, string> = {},
): Promise<{ callId: string; res: Response }> {
  const res = await fetch(`${stack.gatewayUrl}/async-function/${fn}${query}`, {
    method: "POST",
    headers: { "x-callback-url": `${sink.url}/${fn}`, ...headers },
    body: fn,
  });
  expect(res.status).toBe(202);
  return { callId: res.headers.get("x-call-id") ?? "", res };
}

async function callback(callId: string, timeoutMs = 30_000): Promise<SinkRequest> {
  const [cb] = await sink.waitFor(1, {
    filter: (r) => r.headers["x-call-id"] === callId,
    timeoutMs,
  });
  if (!cb) throw new Error(`no callback for ${callId}`);
  return cb;
}

async function runsOf(callId: string): Promise<Run[]> {
  return (await readRuns(join(dir, "runs.log"))).filter((r) => r.callId === callId);
}

const api = (path: string, init?: RequestInit): Promise<Response> =>
  fetch(`${stack.gatewayUrl}${path}`, init);

describe("retries", () => {
  test("retries - attempts follow the exponential backoff and carry the attempt headers", async () => {
    const { callId } = await call("retrier", "?fail=2");
    const cb = await callback(callId);
    expect(cb.headers["x-function-status"]).toBe("200");
    expect(cb.headers["x-ferry-attempt"]).toBe("3");
    expect(cb.headers["x-ferry-max-attempts"]).toBe("4");
    const runs = await runsOf(callId);
    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(runs.every((r) => r.maxAttempts === "4")).toBe(true);
    const [a, b, c] = runs.map((r) => r.at) as [number, number, number];
    // No jitter: 300 ms before the second attempt, 600 ms before the third.
    expect(b - a).toBeGreaterThanOrEqual(300);
    expect(c - b).toBeGreaterThanOrEqual(600);
  });

  test("retries - a Retry-After from the function is honoured over a shorter backoff", async () => {
    const { callId } = await call("retrier", "?fail=1&code=429&retryAfter=2");
    await callback(callId);
    const [first, second] = await runsOf(callId);
    expect(second?.attempt).toBe(2);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(2_000);
  });

  test("retries - the last failed attempt dead-letters the call and a failure callback is sent", async () => {
    const { callId } = await call("twice", "?fail=9");
    const cb = await callback(callId);
    expect(cb.headers["x-function-status"]).toBe("503");
    expect((await runsOf(callId)).length).toBe(2);
    expect(await client.hget(callKey(callId), "status")).toBe("dead-lettered");
    const shown = (await (await api(`/system/dlq/${callId}`)).json()) as Record<string, unknown>;
    expect(shown).toMatchObject({ callId, function: "twice", reason: "attempts", attempts: 2 });
  });
});

describe("dead-letter queue", () => {
  test("dlq - a non-retryable 4xx goes to the DLQ after one attempt; redrive runs it again with a callback", async () => {
    const failUntil = Date.now() + 1_500;
    const { callId } = await call("retrier", `?failUntil=${failUntil}&code=400`);
    const failed = await callback(callId);
    expect(failed.headers["x-function-status"]).toBe("400");
    expect((await runsOf(callId)).length).toBe(1);
    const list = (await (await api("/system/dlq?function=retrier")).json()) as {
      items: Array<{ callId: string; reason: string; statusCode: number }>;
    };
    expect(list.items.find((i) => i.callId === callId)).toMatchObject({
      reason: "not-retryable",
      statusCode: 400,
    });
    await sleep(Math.max(failUntil - Date.now(), 0) + 50);
    const redrive = await api(`/system/dlq/${callId}/redrive`, { method: "POST" });
    expect(redrive.status).toBe(202);
    await sink.waitFor(2, { filter: (r) => r.headers["x-call-id"] === callId });
    const second = sink.requests.filter((r) => r.headers["x-call-id"] === callId)[1];
    expect(second?.headers["x-function-status"]).toBe("200");
    expect(second?.headers["x-ferry-attempt"]).toBe("1");
    expect((await api(`/system/dlq/${callId}`)).status).toBe(404);
    expect(await client.hget(callKey(callId), "status")).toBe("succeeded");
  });

  test("dlq - redrive of every dead letter of a function, and delete", async () => {
    const failUntil = Date.now() + 1_000;
    const ids = await Promise.all(
      [1, 2, 3].map(async () => (await call("twice", `?failUntil=${failUntil}&code=404`)).callId),
    );
    await Promise.all(ids.map((id) => callback(id)));
    const gone = ids[2] ?? "";
    expect((await api(`/system/dlq/${gone}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/system/dlq/${gone}`)).status).toBe(404);
    type Page = { items: Array<{ callId: string }>; next: number | null };
    const first = (await (await api("/system/dlq?function=twice&limit=1")).json()) as Page;
    expect(first.items).toHaveLength(1);
    expect(first.next).toEqual(expect.any(Number));
    const rest = (await (
      await api(`/system/dlq?function=twice&after=${first.next}&limit=50`)
    ).json()) as Page;
    const listed = [...first.items, ...rest.items].map((i) => i.callId);
    expect(listed).toEqual(expect.arrayContaining(ids.slice(0, 2)));
    expect(new Set(listed).size).toBe(listed.length);
    await sleep(Math.max(failUntil - Date.now(), 0) + 50);
    const res = await api("/system/dlq/redrive", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ function: "twice" }),
    });
    const body = (await res.json()) as { redriven: string[] };
    expect(body.redriven).toEqual(expect.arrayContaining(ids.slice(0, 2)));
    expect(body.redriven).not.toContain(gone);
    for (const id of ids.slice(0, 2)) {
      await sink.waitFor(2, { filter: (r) => r.headers["x-call-id"] === id });
    }
  });

  test("dlq - bad requests get a 4xx with the error shape", async () => {
    const res = await api("/system/dlq/redrive", { method: "POST", body: "{nope" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_BAD_REQUEST",
    );
    expect((await api("/system/dlq/never-seen")).status).toBe(404);
  });
});

describe("leases, cancel, delay, expiry, idempotency", () => {
  test("lease - a function that runs 3.5x AckWait runs once", async () => {
    const { callId } = await call("slow", "?sleep=3500");
    const cb = await callback(callId);
    expect(cb.headers["x-function-status"]).toBe("200");
    expect((await runsOf(callId)).length).toBe(1);
  });

  test("cancel - a queued (delayed) call is never run; its callback says 499", async () => {
    const { callId } = await call("quick", "", { "x-delay": "2" });
    const res = await api(`/async-function/${callId}`, { method: "DELETE" });
    expect(res.status).toBe(202);
    const cb = await callback(callId);
    expect(cb.headers["x-function-status"]).toBe("499");
    expect(await client.hget(callKey(callId), "status")).toBe("cancelled");
    expect(await runsOf(callId)).toEqual([]);
    const again = await api(`/async-function/${callId}`, { method: "DELETE" });
    expect(again.status).toBe(409);
  });

  test("cancel - a running call is aborted", async () => {
    const { callId } = await call("slow", "?sleep=8000");
    await eventually(async () => (await runsOf(callId)).length > 0, 10_000);
    await api(`/async-function/${callId}`, { method: "DELETE" });
    const cb = await callback(callId, 5_000);
    expect(cb.headers["x-function-status"]).toBe("499");
  });

  test("delay - X-Delay holds the call until its time; too long a delay is refused", async () => {
    const sent = Date.now();
    const { callId } = await call("quick", "", { "x-delay": "1.5s" });
    await callback(callId);
    const [run] = await runsOf(callId);
    expect((run?.at ?? 0) - sent).toBeGreaterThanOrEqual(1_500);
    const tooLong = await fetch(`${stack.gatewayUrl}/async-function/quick`, {
      method: "POST",
      headers: { "x-delay": "48h" },
    });
    expect(tooLong.status).toBe(400);
  });

  test("expiry - a call older than maxAge is dead-lettered as expired and never run", async () => {
    const { callId } = await call("expiring", "", { "x-delay": "1" });
    const cb = await callback(callId);
    expect(cb.headers["x-function-status"]).toBe("504");
    expect(await runsOf(callId)).toEqual([]);
    expect(await client.hget(callKey(callId), "reason")).toBe("expired");
  });

  test("idempotency - a repeated Idempotency-Key answers the first call id and publishes nothing", async () => {
    const headers = { "idempotency-key": `order-${Date.now()}` };
    const first = await call("quick", "", headers);
    const before = await lastInvokeSeq(stack.nc);
    const second = await call("quick", "", headers);
    expect(second.callId).toBe(first.callId);
    expect(second.res.headers.get("x-ferry-duplicate")).toBe("true");
    expect(first.res.headers.get("x-ferry-duplicate")).toBeNull();
    expect(await lastInvokeSeq(stack.nc)).toBe(before);
    await callback(first.callId);
    expect((await runsOf(first.callId)).length).toBe(1);
  });
});

describe("queues and limits", () => {
  test("queues - a flood on one queue does not hold up a call on another", async () => {
    const flood = await Promise.all(
      Array.from({ length: 200 }, async () => (await call("flood", "?sleep=300")).callId),
    );
    const sent = Date.now();
    const { callId } = await call("quick");
    const cb = await callback(callId);
    const floodDone = sink.requests.filter((r) => flood.includes(String(r.headers["x-call-id"])));
    // 200 calls of 300 ms at 32 at once take about 2 s; the quick call must not wait for them.
    console.log(
      `QUEUES quick call latency ${cb.receivedAt - sent} ms with ${200 - floodDone.length} flood calls still pending`,
    );
    expect(200 - floodDone.length).toBeGreaterThan(50);
    await sink.waitFor(200, {
      filter: (r) => flood.includes(String(r.headers["x-call-id"])),
      timeoutMs: 30_000,
    });
  });

  test("limits - the per-function limit holds across workers (the function counts its own runs)", async () => {
    const ids = await Promise.all(
      Array.from(
        { length: 30 },
        async () => (await call("limited", "?sleep=200&group=limited")).callId,
      ),
    );
    await Promise.all(ids.map((id) => callback(id)));
    const runs = (await readRuns(join(dir, "runs.log"))).filter((r) => ids.includes(r.callId));
    expect(runs).toHaveLength(30);
    expect(Math.max(...runs.map((r) => r.inflight))).toBe(3);
  });
});

describe("metrics and shutdown", () => {
  test("metrics - the worker exports retries, outcomes, pending and DLQ size", async () => {
    const port = /"healthPort":(\d+)/.exec(workers[0]?.output() ?? "")?.[1];
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const name of [
      "queue_worker_messages_processed_total",
      "queue_worker_retries_total",
      "queue_worker_pending_messages",
      "queue_worker_dlq_messages",
      "queue_worker_function_invocation_inflight",
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(
      /queue_worker_dlq_messages\{queue_name="default",function_name="twice"\} \d+/,
    );
  });

  test("shutdown - SIGTERM lets a short call finish and hands a long one back to the queue", async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill("SIGTERM")));
    const draining = await spawnWorker({ QUEUES: "drain", SHUTDOWN_DEADLINE: "1s" });
    const short = await call("draining", "?sleep=300");
    const long = await call("draining", "?sleep=4000");
    await eventually(async () => (await runsOf(long.callId)).length === 1, 10_000);
    await draining.kill("SIGTERM");
    expect(draining.child.exitCode).toBe(0);
    expect(sink.requests.some((r) => r.headers["x-call-id"] === short.callId)).toBe(true);
    expect(sink.requests.some((r) => r.headers["x-call-id"] === long.callId)).toBe(false);
    await spawnWorker({ QUEUES: "drain" });
    const cb = await callback(long.callId);
    expect(cb.headers["x-function-status"]).toBe("200");
    expect((await runsOf(long.callId)).map((r) => r.attempt)).toEqual([1, 2]);
  });
});
