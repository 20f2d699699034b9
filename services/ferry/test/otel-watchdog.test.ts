import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort } from "@ferry/runtime";
import { spawnTs, startHttpSink, type HttpSink, type TsProcess } from "@ferry/testkit";
import { FIXTURES } from "./helpers.js";

// The watchdog as deployed (its main.ts in a child process) with the standard OTEL_* variables:
// it exports a `watchdog run` span, child of the caller's, and the function continues from it.
let collector: HttpSink;
let watchdog: TsProcess;
let url: string;

beforeAll(async () => {
  collector = await startHttpSink();
  const [port, upstream] = await Promise.all([freePort(), freePort()]);
  url = `http://127.0.0.1:${port}`;
  watchdog = spawnTs("services/watchdog/src/main.ts", {
    env: {
      fprocess: `node ${FIXTURES}/trace-echo.js`,
      mode: "http",
      port: String(port),
      upstream_url: `http://127.0.0.1:${upstream}`,
      PORT: String(upstream),
      metrics_port: "off",
      suppress_lock: "true",
      healthcheck_interval: "0s",
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_LOGS_EXPORTER: "none",
    },
  });
  await watchdog.waitForOutput("watchdog ready");
});

afterAll(async () => {
  await watchdog?.kill();
  await collector?.close();
});

describe("otel watchdog", () => {
  test("otel watchdog - a call gets a watchdog span under the caller's, and the function continues from it", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const res = await fetch(`${url}/`, {
      method: "POST",
      headers: { traceparent: `00-${traceId}-${callerSpan}-01`, tracestate: "vendor=1" },
      body: "x",
    });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as { traceparent: string; tracestate: string };
    const [, seenTrace, seenParent] = seen.traceparent.split("-");
    expect(seenTrace).toBe(traceId);
    expect(seenParent).not.toBe(callerSpan);
    expect(seen.tracestate).toBe("vendor=1");

    const [post] = await collector.waitFor(1, { filter: (r) => r.url === "/v1/traces" });
    const body = JSON.parse(post?.body.toString() ?? "{}") as {
      resourceSpans: {
        scopeSpans: {
          spans: { name: string; traceId: string; spanId: string; parentSpanId?: string }[];
        }[];
      }[];
    };
    const spans = body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const run = spans.find((s) => s.name === "watchdog run");
    expect(run?.traceId).toBe(traceId);
    expect(run?.parentSpanId).toBe(callerSpan);
    expect(run?.spanId).toBe(seenParent);
  });
});
