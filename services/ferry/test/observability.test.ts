import { readFile } from "node:fs/promises";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pino } from "pino";
import { FunctionSpec } from "@ferry/contracts";
import { createConnectorMetrics } from "@ferry/connector-sdk";
import { createRouterMetrics } from "@ferry/router";
import { createLogger, createRegistry } from "@ferry/runtime";
import { createWatchdog, loadConfig } from "@ferry/watchdog";
import {
  startAll,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
} from "@ferry/testkit";
import { startReplica, startStack, type Replica, type Stack } from "../src/index.js";
import { FIXTURES, eventually } from "./helpers.js";
import { families, promqlMetrics, sample } from "./prom-text.js";

// Every line the stack logs, parsed, in order.
const lines: Record<string, unknown>[] = [];
const raw: string[] = [];
const out = new PassThrough();
out.on("data", (chunk: Buffer) => {
  for (const line of chunk.toString().split("\n").filter(Boolean)) {
    raw.push(line);
    lines.push(JSON.parse(line) as Record<string, unknown>);
  }
});
const logger = pino({ level: "debug", base: { service: "ferry" } }, out);
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let replica: Replica;
let stack: Stack;

beforeAll(async () => {
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  const echo = FunctionSpec.parse({
    name: "trace-echo",
    watchdog: { fprocess: "node trace-echo.js", mode: "http" },
    timeout: 30_000,
  });
  replica = await startReplica(echo, FIXTURES, createLogger({ name: "test", level: "silent" }));
  stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    callbackAllowlist: ["127.0.0.1"],
  });
  for (const name of ["metered", "logged"]) {
    await stack.registry.put(FunctionSpec.parse({ name, url: replica.url, timeout: 30_000 }));
  }
  const slow = { name: "slowpoke", queue: "slow", url: replica.url, timeout: 30_000 };
  await stack.registry.put(FunctionSpec.parse(slow));
});

afterAll(async () => {
  await stack?.stop();
  await replica?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
});

const post = (path: string, headers: Record<string, string> = {}, body = "x") =>
  fetch(`${stack.gatewayUrl}${path}`, { method: "POST", headers, body });
const scrape = async () => (await fetch(`${stack.gatewayUrl}/metrics`)).text();

describe("observability", () => {
  test("metrics - /metrics shows the exact counts after known traffic", async () => {
    const cb = { "x-callback-url": `${sink.url}/metered` };
    for (let i = 0; i < 3; i++)
      expect((await post("/async-function/metered", cb)).status).toBe(202);
    for (let i = 0; i < 2; i++) expect((await post("/function/metered")).status).toBe(200);
    expect((await post("/async-function/nope", cb)).status).toBe(404);
    await sink.waitFor(3, { filter: (r) => r.url === "/metered" });
    let text = "";
    await eventually(async () => {
      text = await scrape();
      const done = sample(text, "queue_worker_messages_processed_total", {
        function_name: "metered",
        outcome: "succeeded",
      });
      return (
        done === 3 && sample(text, "callback_deliveries_total", { outcome: "delivered" }) === 3
      );
    });
    const fn = { function_name: "metered" };
    const asyncRoute = { method: "POST", path: "/async-function/:name" };
    expect(sample(text, "gateway_function_invocation_total", { ...fn, code: "202" })).toBe(3);
    expect(sample(text, "gateway_function_invocation_total", { ...fn, code: "200" })).toBe(2);
    expect(sample(text, "gateway_function_invocation_started", fn)).toBe(5);
    expect(sample(text, "gateway_functions_seconds_count", { ...fn, code: "200" })).toBe(5);
    const queued = { queue_name: "default", ...fn };
    expect(sample(text, "queue_worker_messages_submitted_total", queued)).toBe(3);
    expect(sample(text, "queue_worker_function_invocation_inflight", fn)).toBe(0);
    expect(sample(text, "queue_worker_queue_wait_seconds_count", { queue_name: "default" })).toBe(
      3,
    );
    expect(sample(text, "http_requests_total", { ...asyncRoute, code: "202" })).toBe(3);
    expect(sample(text, "http_requests_total", { ...asyncRoute, code: "404" })).toBe(1);
    expect(
      sample(text, "http_request_duration_seconds_count", { ...asyncRoute, code: "202" }),
    ).toBe(3);
    expect(text).toContain("# TYPE queue_worker_pending_messages gauge");
  });

  test("metrics - the age of a queue's oldest stored call rises while it waits or runs, then drops to 0", async () => {
    const age = async () =>
      sample(await scrape(), "queue_worker_oldest_message_age_seconds", { queue_name: "slow" });
    const res = await post("/async-function/slowpoke?sleep=1500");
    expect(res.status).toBe(202);
    await eventually(async () => ((await age()) ?? 0) > 0);
    await eventually(async () => (await age()) === 0);
  });

  test("logs - every line about one call carries its callId, function, traceId and attempt", async () => {
    const res = await post(
      "/async-function/logged",
      { "x-callback-url": `${sink.url}/logged` },
      "do-not-log-this-body",
    );
    const callId = res.headers.get("x-call-id") ?? "";
    await sink.waitFor(1, { filter: (r) => r.url === "/logged" });
    const ofCall = () => lines.filter((l) => l.callId === callId);
    await eventually(() => ofCall().some((l) => l.msg === "callback delivered"));
    // No line mentions the call without naming it in the callId field.
    const mentioning = raw.filter((l) => l.includes(callId)).length;
    expect(ofCall()).toHaveLength(mentioning);
    expect(ofCall().map((l) => l.msg)).toEqual(
      expect.arrayContaining(["call queued", "call finished", "callback delivered"]),
    );
    const traceIds = new Set(ofCall().map((l) => l.traceId));
    expect(traceIds.size).toBe(1);
    expect([...traceIds][0]).toMatch(/^[0-9a-f]{32}$/);
    for (const line of ofCall()) {
      expect(line.function).toBe("logged");
      if (line.msg !== "call queued") expect(line.attempt).toBe(1);
    }
    expect(raw.some((l) => l.includes("do-not-log-this-body"))).toBe(false);
  });

  test("dashboard - every query of the Grafana dashboard names a metric the services export", async () => {
    const url = new URL("../../../infra/grafana/dashboards/ferry-overview.json", import.meta.url);
    const dashboard = JSON.parse(await readFile(url, "utf8")) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const exported = await exportedFamilies();
    const queried = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const names = new Set(queried.flatMap(promqlMetrics));
    expect(names.size).toBeGreaterThan(15);
    const unknown = [...names].filter((n) => !exported.has(n.replace(/_(bucket|count|sum)$/, "")));
    expect(unknown).toEqual([]);
  });
});

/** Metric families of the stack's combined /metrics, the router, a connector and a watchdog. */
async function exportedFamilies(): Promise<Set<string>> {
  const extra = createRegistry();
  createRouterMetrics(extra);
  createConnectorMetrics(extra);
  const config = loadConfig({
    fprocess: "node trace-echo.js",
    mode: "http",
    upstream_url: "http://127.0.0.1:1",
  });
  createWatchdog(config, { logger, env: {}, registry: extra });
  return new Set([...families(await scrape()), ...families(await extra.metrics())]);
}
