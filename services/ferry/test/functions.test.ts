import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FunctionSpec, type FunctionSpecInput } from "@ferry/contracts";
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
import { FIXTURES, eventually, runsById } from "./helpers.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let stack: Stack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-functions-"));
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    callbackAllowlist: ["127.0.0.1"],
    provider: { baseDir: FIXTURES, scaleDownDelayMs: 300, tickMs: 100 },
  });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  await rm(dir, { recursive: true, force: true });
});

const recorder = (name: string, extra: Partial<FunctionSpecInput> = {}): FunctionSpec =>
  FunctionSpec.parse({
    name,
    watchdog: { fprocess: "node recorder.js", mode: "http" },
    env: { RUN_LOG: join(dir, `${name}.log`) },
    timeout: 10_000,
    ...extra,
  });
const replicas = (fn: string): number => stack.provider?.replicas(fn)?.current ?? -1;
const gw = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${stack.gatewayUrl}${path}`, init);
const callAsync = async (fn: string, body: string, query = ""): Promise<string> => {
  const res = await gw(`/async-function/${fn}${query}`, {
    method: "POST",
    headers: { "x-callback-url": `${sink.url}/${fn}` },
    body,
  });
  expect(res.status).toBe(202);
  return res.headers.get("x-call-id") as string;
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const codeOf = async (res: Response): Promise<string> =>
  ((await res.json()) as { error: { code: string } }).error.code;

describe("provider", () => {
  test("scale to zero - minReplicas 0 starts nothing, a call brings a replica up and completes, idle brings it back to zero", async () => {
    await stack.registry.put(recorder("cold", { minReplicas: 0, idleTimeout: 1_000 }));
    await eventually(() => stack.provider?.replicas("cold") !== undefined, 5_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(replicas("cold")).toBe(0);
    const callId = await callAsync("cold", "wake up");
    const [cb] = await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === callId });
    expect(cb?.headers["x-function-status"]).toBe("200");
    expect(cb?.body.toString()).toBe("wake up");
    expect(replicas("cold")).toBe(1);
    const pid = stack.provider?.replicas("cold")?.pids[0] as number;
    expect(pid).toBeGreaterThan(1);
    await eventually(() => replicas("cold") === 0, 10_000);
    await eventually(() => stack.endpoints.list("cold").length === 0, 5_000);
    await eventually(() => !alive(pid), 15_000);
  });

  test("autoscale - queued calls raise the replicas up to maxReplicas, then they come back down to minReplicas", async () => {
    await stack.registry.put(
      recorder("busy", { minReplicas: 1, maxReplicas: 3, targetInflight: 5 }),
    );
    await eventually(() => stack.endpoints.list("busy").length === 1, 15_000);
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, replicas("busy"))), 50);
    const ids = await Promise.all(
      Array.from({ length: 150 }, (_, i) => callAsync("busy", `b${i}`, "?sleep=100")),
    );
    await sink.waitFor(150, { timeoutMs: 60_000, filter: (r) => r.url === "/busy" });
    clearInterval(watch);
    expect(peak).toBe(3);
    const runs = await runsById(join(dir, "busy.log"));
    expect(ids.every((id) => runs.get(id) === 1)).toBe(true);
    await eventually(() => replicas("busy") === 1, 15_000);
  });

  test("replica killed - a SIGKILLed replica is replaced and no call is lost", async () => {
    await stack.registry.put(recorder("sturdy", { minReplicas: 2, maxReplicas: 2 }));
    await eventually(() => stack.endpoints.list("sturdy").length === 2, 15_000);
    const victim = stack.provider?.replicas("sturdy")?.pids[0] as number;
    expect(victim).toBeGreaterThan(1);
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) => callAsync("sturdy", `s${i}`, "?sleep=100")),
    );
    process.kill(victim, "SIGKILL");
    const got = await sink.waitFor(40, { timeoutMs: 60_000, filter: (r) => r.url === "/sturdy" });
    expect(new Set(got.map((r) => r.headers["x-call-id"]))).toEqual(new Set(ids));
    expect(got.every((r) => r.headers["x-function-status"] === "200")).toBe(true);
    await eventually(() => stack.endpoints.list("sturdy").length === 2, 15_000);
    expect(stack.provider?.replicas("sturdy")?.pids).not.toContain(victim);
    // The gauges follow at the provider's next tick.
    await eventually(async () => {
      const metrics = await (await gw("/metrics")).text();
      return (
        metrics.includes('gateway_service_count{function_name="sturdy"} 2') &&
        /ferry_provider_replica_restarts_total\{function_name="sturdy"\} [1-9]/.test(metrics)
      );
    }, 5_000);
  });
});

describe("registry API", () => {
  const json = (method: string, path: string, body?: unknown): Promise<Response> =>
    gw(path, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  test("registry API - create, conflict, replace, show with status, remove; bad specs name each field", async () => {
    const spec = { name: "api-fn", url: "http://127.0.0.1:9/" };
    expect((await json("POST", "/system/functions", spec)).status).toBe(201);
    expect((await json("POST", "/system/functions", spec)).status).toBe(409);
    const put = await json("PUT", "/system/functions/api-fn", { ...spec, timeout: "5s" });
    expect(put.status).toBe(200);
    await eventually(() => stack.registry.get("api-fn")?.timeout === 5_000, 5_000);
    const shown = (await (await gw("/system/functions/api-fn")).json()) as Record<string, unknown>;
    expect(shown).toMatchObject({ name: "api-fn", timeout: 5_000, status: { queued: 0 } });
    const bad = await json("POST", "/system/functions", {
      name: "Bad_Name",
      watchdog: { mode: "nope" },
      maxReplicas: 0,
    });
    expect(bad.status).toBe(400);
    const message = ((await bad.json()) as { error: { message: string } }).error.message;
    expect(message).toContain("name:");
    expect(message).toContain("watchdog.mode:");
    expect(message).toContain("maxReplicas:");
    expect((await json("DELETE", "/system/functions/api-fn")).status).toBe(202);
    await eventually(() => stack.registry.get("api-fn") === undefined, 5_000);
    expect((await json("DELETE", "/system/functions/api-fn")).status).toBe(404);
    const info = (await (await gw("/system/info")).json()) as { provider: { provider: string } };
    expect(info.provider.provider).toBe("ferry");
  });

  test("registry API - a changed minReplicas applies without restarting anything", async () => {
    await stack.registry.put(recorder("grow", { minReplicas: 1 }));
    await eventually(() => stack.endpoints.list("grow").length === 1, 15_000);
    const [first] = stack.provider?.replicas("grow")?.pids ?? [];
    await stack.registry.put(recorder("grow", { minReplicas: 2 }));
    await eventually(() => stack.endpoints.list("grow").length === 2, 15_000);
    expect(stack.provider?.replicas("grow")?.pids).toContain(first);
    await stack.registry.remove("grow");
    await eventually(() => stack.provider?.replicas("grow") === undefined, 5_000);
  });
});

describe("sync invoke", () => {
  beforeAll(async () => {
    await stack.registry.put(recorder("echo", { timeout: 1_000 }));
    await stack.registry.put(
      FunctionSpec.parse({ name: "gone", url: "http://127.0.0.1:1", maxBodyBytes: 4 }),
    );
    await eventually(() => stack.endpoints.list("echo").length === 1, 15_000);
  });

  test("sync invoke - the body goes to a replica and its answer comes back with its status and headers", async () => {
    const res = await gw("/function/echo/sub/path?x=1", {
      method: "PUT",
      headers: { "content-type": "text/plain" },
      body: "round trip",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(res.headers.get("x-call-id")).toMatch(/^[0-9a-f-]{36}$/);
    // A small answer comes whole, with its length, not chunked.
    expect(res.headers.get("content-length")).toBe("10");
    expect(res.headers.get("transfer-encoding")).toBeNull();
    expect(await res.text()).toBe("round trip");
  });

  test("sync invoke - a chunked body of unknown length streams through to the function", async () => {
    const parts = ["first part, ", "second part"];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = parts.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await gw("/function/echo", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("first part, second part");
  });

  test("sync invoke - a large body streams through both ways unchanged", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, "abcdefgh");
    const res = await gw("/function/echo", { method: "POST", body: big });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(big)).toBe(true);
  });

  test("sync invoke - unknown function 404, body over maxBodyBytes 413, unreachable 502, over the timeout 504, all JSON", async () => {
    const unknown = await gw("/function/nope", { method: "POST" });
    expect(unknown.status).toBe(404);
    expect(await codeOf(unknown)).toBe("FERRY_ERR_FUNCTION_NOT_FOUND");
    const down = await gw("/function/gone", { method: "POST" });
    expect(down.status).toBe(502);
    expect(await codeOf(down)).toBe("FERRY_ERR_BAD_GATEWAY");
    const big = await gw("/function/gone", { method: "POST", body: "over four bytes" });
    expect(big.status).toBe(413);
    expect(await codeOf(big)).toBe("FERRY_ERR_PAYLOAD_TOO_LARGE");
    const slow = await gw("/function/echo?sleep=3000", { method: "POST", body: "x" });
    expect(slow.status).toBe(504);
    expect(await codeOf(slow)).toBe("FERRY_ERR_TIMEOUT");
  });
});
