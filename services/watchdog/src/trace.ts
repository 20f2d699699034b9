import type { IncomingMessage } from "node:http";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { extractTrace, injectTrace } from "@ferry/runtime";
import { rawHeader } from "./internal/headers.js";
import type { WatchdogResponse } from "./runners/runner.js";

/**
 * With tracing on: one `watchdog run` span per call, child of the caller's `traceparent`, ended
 * when the response closes. The request's `traceparent` is rewritten to this span, so the
 * function (http headers, or `Http_Traceparent` in fork mode) continues the trace from here.
 */
export function traceCall(req: IncomingMessage, res: WatchdogResponse): void {
  const raw = req.rawHeaders;
  const incoming = {
    traceparent: rawHeader(raw, "traceparent"),
    tracestate: rawHeader(raw, "tracestate"),
  };
  const parent = extractTrace(incoming);
  const span = trace
    .getTracer("ferry")
    .startSpan(
      "watchdog run",
      { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method ?? "GET" } },
      parent,
    );
  const out = injectTrace(trace.setSpan(parent, span), incoming);
  if (out.traceparent) setRawHeader(raw, "traceparent", out.traceparent);
  res.once("close", () => {
    span.setAttribute("http.response.status_code", res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}

function setRawHeader(raw: string[], lowerName: string, value: string): void {
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === lowerName) {
      raw[i + 1] = value;
      return;
    }
  }
  raw.push(lowerName, value);
}
