import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FunctionSpec } from "@ferry/contracts";
import { connectNats, openFunctionRegistry, type NatsConnection } from "@ferry/jetstream";
import { createLogger, freePort } from "@ferry/runtime";
import {
  startAll,
  spawnTs,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
  type TsProcess,
} from "@ferry/testkit";

// The gateway as deployed (its main.ts in a child process), told by the standard OTEL_* variables
// to export over OTLP/HTTP JSON to a sink: proves the SDK starts from the entry and exports.
const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let collector: HttpSink;
let nc: NatsConnection;
let gateway: TsProcess;
let url: string;

beforeAll(async () => {
  [nats, redis, collector] = await startAll([startNats(), startRedis(), startHttpSink()]);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  gateway = spawnTs("services/gateway/src/main.ts", {
    env: {
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      AUTH_TOKENS: "otel-test-token",
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_LOGS_EXPORTER: "none",
    },
  });
  await gateway.waitForOutput("gateway listening");
  nc = await connectNats({ servers: nats.url, name: "test", logger });
  const registry = await openFunctionRegistry(nc, { logger });
  await registry.put(FunctionSpec.parse({ name: "anything", url: "http://127.0.0.1:1" }));
  await registry.close();
});

afterAll(async () => {
  await gateway?.kill();
  await nc?.drain();
  await Promise.all([nats?.stop(), redis?.stop(), collector?.close()]);
});

describe("otel export", () => {
  test("otel export - a gateway started with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans over OTLP", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    let res: Response | undefined;
    // The registry watch may lag the put by a moment.
    for (let i = 0; i < 50 && res?.status !== 202; i++) {
      res = await fetch(`${url}/async-function/anything`, {
        method: "POST",
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
        body: "x",
      });
      if (res.status !== 202) await new Promise((r) => setTimeout(r, 100));
    }
    expect(res?.status).toBe(202);
    const [post] = await collector.waitFor(1, { filter: (r) => r.url === "/v1/traces" });
    const body = JSON.parse(post?.body.toString() ?? "{}") as {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: { name: string; traceId: string }[] }[];
      }[];
    };
    const [resource] = body.resourceSpans;
    const service = resource?.resource.attributes.find((a) => a.key === "service.name");
    expect(service?.value.stringValue).toBe("gateway");
    const spans = body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    expect(spans.map((s) => s.name)).toEqual(
      expect.arrayContaining(["gateway accept", "gateway publish"]),
    );
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
  });
});
