import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FunctionSpec } from "@ferry/contracts";
import { createLogger } from "@ferry/runtime";
import { startAll, startNats, startRedis, type ServerHandle } from "@ferry/testkit";
import { startStack, type Stack } from "../src/index.js";
import { eventually, lastInvokeSeq } from "./helpers.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
/** Two gateways sharing one NATS and one Redis, as two replicas behind a load balancer. */
let a: Stack;
let b: Stack;

const start = (perClient?: { max: number; windowMs: number }): Promise<Stack> =>
  startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    worker: false,
    callbacks: false,
    callbackAllowlist: ["127.0.0.1"],
    gatewaySecurity: perClient ? { rateLimit: perClient } : {},
  });

beforeAll(async () => {
  [nats, redis] = await startAll([startNats(), startRedis()]);
  a = await start({ max: 8, windowMs: 60_000 });
  b = await start({ max: 8, windowMs: 60_000 });
  const put = (raw: unknown): Promise<unknown> => a.registry.put(FunctionSpec.parse(raw));
  await put({ name: "limited", url: "http://127.0.0.1:9/", rateLimit: { max: 3, window: "1m" } });
  await put({ name: "free", url: "http://127.0.0.1:9/" });
  await put({ name: "small", url: "http://127.0.0.1:9/", maxBodyBytes: 10 });
  // Both gateways must know the functions (through their registry watch) before the calls.
  await eventually(() =>
    ["limited", "free", "small"].every((n) => a.registry.get(n) && b.registry.get(n)),
  );
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([nats?.stop(), redis?.stop()]);
});

const post = (stack: Stack, path: string, body = "x"): Promise<Response> =>
  fetch(`${stack.gatewayUrl}${path}`, { method: "POST", body });

describe("security - rate limits across replicas", () => {
  test("rate limit - a function's limit is shared by two gateways: the 4th call gets 429 with Retry-After", async () => {
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (const stack of [a, b, a, b, a]) {
      const res = await post(stack, "/async-function/limited");
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    const retryAfter = Number(refused?.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_TOO_MANY_REQUESTS",
    );
  });

  test("rate limit - the per-client limit counts calls on both gateways; probes are never limited", async () => {
    // 5 calls so far from this client (previous test); 3 more reach the limit of 8.
    const statuses: number[] = [];
    for (const stack of [b, a, b, a, b])
      statuses.push((await post(stack, "/async-function/free")).status);
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    const seq = await lastInvokeSeq(a.nc);
    const refused = await fetch(`${a.gatewayUrl}/system/functions`);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await lastInvokeSeq(a.nc)).toBe(seq);
    expect((await fetch(`${b.gatewayUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${b.gatewayUrl}/readyz`)).status).toBe(200);
  });
});

describe("security - body limits", () => {
  test("body limit - a function's maxBodyBytes gives 413 and publishes nothing", async () => {
    // A third gateway without the client limit the tests above used up.
    const c = await start();
    try {
      await eventually(() => c.registry.get("small") !== undefined);
      const seq = await lastInvokeSeq(c.nc);
      const res = await post(c, "/async-function/small", "x".repeat(11));
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        "FERRY_ERR_PAYLOAD_TOO_LARGE",
      );
      expect(await lastInvokeSeq(c.nc)).toBe(seq);
      expect((await post(c, "/async-function/small", "x".repeat(10))).status).toBe(202);
    } finally {
      await c.stop();
    }
  });
});

/** A TCP proxy whose server-to-client direction can be held: JetStream acks stop arriving. */
async function startHoldingProxy(target: string): Promise<{
  url: string;
  hold(on: boolean): void;
  close(): Promise<void>;
}> {
  const { hostname, port } = new URL(target);
  let held = false;
  const pending: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (held) pending.push(() => client.write(chunk));
      else client.write(chunk);
    });
    upstream.on("close", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address() as { port: number };
  return {
    url: `nats://127.0.0.1:${address.port}`,
    hold(on) {
      held = on;
      if (!on) for (const flush of pending.splice(0)) flush();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe("security - bounded publishes", () => {
  test("in-flight publishes - while JetStream does not answer, calls beyond the bound get 503 with Retry-After at once", async () => {
    const proxy = await startHoldingProxy(nats.url);
    const stack = await startStack({
      natsUrl: proxy.url,
      redisUrl: redis.url,
      logger,
      port: 0,
      worker: false,
      callbacks: false,
      callbackAllowlist: ["127.0.0.1"],
      gatewaySecurity: { maxInflightPublishes: 2 },
    });
    try {
      await stack.registry.put(FunctionSpec.parse({ name: "held", url: "http://127.0.0.1:9/" }));
      // The registry learns of it through its watch, which the hold would stop too.
      await eventually(() => stack.registry.get("held") !== undefined);
      proxy.hold(true);
      const calls = Array.from({ length: 6 }, () => post(stack, "/async-function/held"));
      // The refusals come while the two admitted publishes still wait for their acks.
      const refused = await Promise.all(
        calls.map((c) =>
          Promise.race([c, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3_000))]),
        ),
      );
      const gate = refused.filter((r) => r?.status === 503);
      expect(gate.length).toBe(4);
      for (const res of gate) {
        expect(res!.headers.get("retry-after")).toBe("1");
        expect(((await res!.json()) as { error: { message: string } }).error.message).toMatch(
          /too many calls in flight/,
        );
      }
      proxy.hold(false);
      const statuses = (await Promise.all(calls)).map((r) => r.status).sort();
      expect(statuses).toEqual([202, 202, 503, 503, 503, 503]);
    } finally {
      proxy.hold(false);
      await stack.stop();
      await proxy.close();
    }
  });
});
