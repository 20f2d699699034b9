import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { FunctionSpec } from "@ferry/contracts";
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
import { FIXTURES, eventually } from "./helpers.js";

// The stack runs in this process, so its spans reach the in-memory exporter over real NATS and
// Redis. The watchdog runs as a child process and exports nothing here; its hop is checked by
// the traceparent the function behind it received (the watchdog forwards it unchanged).
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let replica: Replica;
let stack: Stack;

beforeAll(async () => {
  provider.register();
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  const spec = FunctionSpec.parse({
    name: "trace-echo",
    watchdog: { fprocess: "node trace-echo.js", mode: "http" },
    timeout: 30_000,
  });
  replica = await startReplica(spec, FIXTURES, logger);
  stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    callbackAllowlist: ["127.0.0.1"],
    resolveEndpoint: (s) => (s.name === "trace-echo" ? replica.url : s.url),
  });
  await stack.registry.put(spec);
  await stack.registry.put(
    FunctionSpec.parse({ name: "trace-echo-sync", url: replica.url, timeout: 30_000 }),
  );
});

afterAll(async () => {
  await stack?.stop();
  await replica?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  await provider.shutdown();
  trace.disable();
});

/** Sends one async call with a callback; returns the call id, the callback and the call's spans. */
async function tracedCall(headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.gatewayUrl}/async-function/trace-echo`, {
    method: "POST",
    headers: { "x-callback-url": `${sink.url}/cb`, ...headers },
    body: "hi",
  });
  expect(res.status).toBe(202);
  const callId = res.headers.get("x-call-id") ?? "";
  const [cb] = await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === callId });
  const ofCall = (): ReadableSpan[] =>
    exporter.getFinishedSpans().filter((s) => s.attributes["ferry.call_id"] === callId);
  await eventually(() => ofCall().some((s) => s.name === "callback delivery"));
  const spans = ofCall();
  const accept = exporter
    .getFinishedSpans()
    .find(
      (s) =>
        s.name === "gateway accept" && s.spanContext().traceId === spans[0]?.spanContext().traceId,
    );
  return { cb, spans: accept ? [accept, ...spans] : spans };
}

const one = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = spans.filter((s) => s.name === name);
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0] as ReadableSpan;
};
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const parse = (tp: unknown) => {
  const [, traceId, spanId] = String(tp).split("-");
  return { traceId, spanId };
};

describe("tracing", () => {
  test("tracing - one async call is one trace from the gateway through the function to the callback", async () => {
    const { cb, spans } = await tracedCall();
    const accept = one(spans, "gateway accept");
    const publish = one(spans, "gateway publish");
    const wait = one(spans, "queue wait");
    const dispatch = one(spans, "worker dispatch");
    const callback = one(spans, "callback delivery");
    const traceId = accept.spanContext().traceId;
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
    expect(parentOf(accept)).toBeUndefined();
    expect(parentOf(publish)).toBe(idOf(accept));
    expect(parentOf(wait)).toBe(idOf(publish));
    expect(parentOf(dispatch)).toBe(idOf(publish));
    expect(parentOf(callback)).toBe(idOf(dispatch));
    // The function behind the watchdog received the worker's attempt span as its parent.
    const received = JSON.parse(cb?.body.toString() ?? "{}") as { traceparent: string };
    expect(parse(received.traceparent)).toEqual({ traceId, spanId: idOf(dispatch) });
    // The callback request continues the trace from the delivery span.
    expect(parse(cb?.headers.traceparent)).toEqual({ traceId, spanId: idOf(callback) });
  });

  test("tracing - a caller's traceparent becomes the parent of the whole call", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const { cb, spans } = await tracedCall({
      traceparent: `00-${traceId}-${callerSpan}-01`,
      tracestate: "vendor=abc",
    });
    const accept = one(spans, "gateway accept");
    expect(accept.spanContext().traceId).toBe(traceId);
    expect(parentOf(accept)).toBe(callerSpan);
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
    const received = JSON.parse(cb?.body.toString() ?? "{}") as {
      traceparent: string;
      tracestate: string;
    };
    expect(parse(received.traceparent).traceId).toBe(traceId);
    expect(received.tracestate).toBe("vendor=abc");
  });

  test("tracing - a sync call's function continues the trace from the gateway's proxy span", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const callerSpan = "b7ad6b7169203331";
    const res = await fetch(`${stack.gatewayUrl}/function/trace-echo-sync`, {
      method: "POST",
      headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
      body: "hi",
    });
    expect(res.status).toBe(200);
    const received = (await res.json()) as { traceparent: string };
    const ofTrace = () =>
      exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    await eventually(() => ofTrace().length > 0);
    const proxy = one(ofTrace(), "gateway proxy");
    expect(parentOf(proxy)).toBe(callerSpan);
    expect(parse(received.traceparent)).toEqual({ traceId, spanId: idOf(proxy) });
  });
});
