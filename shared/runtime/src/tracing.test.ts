import { describe, expect, test } from "vitest";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { tracingRequested } from "./otel.js";
import { extractTrace, injectTrace, mintTraceparent, traceIdOf, withSpan } from "./tracing.js";

const caller = {
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  tracestate: "vendor=abc",
};

// No SDK is registered in this file: these are the "tracing off" paths.
describe("tracing helpers", () => {
  test("tracing off - the incoming traceparent and tracestate pass through unchanged", async () => {
    const onwards = await withSpan("hop", { parent: extractTrace(caller) }, async (_s, ctx) =>
      injectTrace(ctx, caller),
    );
    expect(onwards).toEqual(caller);
    expect(injectTrace(ROOT_CONTEXT, {})).toEqual({});
  });

  test("tracing off - a failing span body still throws its own error", async () => {
    await expect(withSpan("hop", {}, () => Promise.reject(new Error("boom")))).rejects.toThrow(
      "boom",
    );
  });

  test("traceIdOf - reads the trace id of a valid traceparent only", () => {
    expect(traceIdOf(caller.traceparent)).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(traceIdOf("garbage")).toBeUndefined();
    expect(traceIdOf(undefined)).toBeUndefined();
    const minted = mintTraceparent();
    expect(minted).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(traceIdOf(minted)).toBe(minted.split("-")[1]);
  });

  test("startSdk - tracing is requested only by the standard OTEL_* variables", () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: "none" })).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: "otlp" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318" })).toBe(true);
    const disabled = { OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" };
    expect(tracingRequested(disabled)).toBe(false);
  });
});
