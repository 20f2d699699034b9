import { randomBytes } from "node:crypto";
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from "@opentelemetry/api";

/** W3C trace context as it travels in NATS headers, HTTP headers and stored jobs. */
export interface TraceCarrier {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/** Options of {@link withSpan}. */
export interface SpanOptions {
  /** The remote parent, e.g. from {@link extractTrace}. Default: the active context. */
  parent?: Context;
  kind?: SpanKind;
  attributes?: Attributes;
  /** When the span began, ms since the epoch (a queue wait measured after the fact). */
  startTime?: number;
}

const getter: TextMapGetter<TraceCarrier> = {
  keys: (c) => Object.keys(c),
  get: (c, key) => (key === "traceparent" || key === "tracestate" ? c[key] : undefined),
};

const tracer = () => trace.getTracer("ferry");

/** The context a carrier names as parent; the root context when it names none. */
export function extractTrace(carrier: TraceCarrier): Context {
  return propagation.extract(ROOT_CONTEXT, carrier, getter);
}

/**
 * The carrier to send onwards from `ctx`. With no SDK running nothing is injected, so the
 * incoming carrier passes through unchanged and a function still continues the caller's trace.
 */
export function injectTrace(ctx: Context, incoming: TraceCarrier = {}): TraceCarrier {
  const out: Record<string, string> = {};
  propagation.inject(ctx, out);
  if (!out.traceparent) return pick(incoming);
  return pick({ traceparent: out.traceparent, tracestate: out.tracestate ?? incoming.tracestate });
}

/** The carrier to send onwards from the active span (see {@link injectTrace}). */
export function currentTrace(incoming: TraceCarrier = {}): TraceCarrier {
  return injectTrace(context.active(), incoming);
}

/** Runs `fn` in a new active span, ending it (and recording a throw) when `fn` settles. */
export async function withSpan<T>(
  name: string,
  opts: SpanOptions,
  fn: (span: Span, ctx: Context) => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    {
      kind: opts.kind ?? SpanKind.INTERNAL,
      ...(opts.attributes ? { attributes: opts.attributes } : {}),
      ...(opts.startTime !== undefined ? { startTime: opts.startTime } : {}),
    },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  try {
    return await context.with(ctx, () => fn(span, ctx));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}

/** Records a span that already happened (a queue wait), child of `parent`. */
export function recordSpan(name: string, parent: Context, start: number, attributes: Attributes) {
  tracer().startSpan(name, { startTime: start, attributes }, parent).end();
}

/**
 * A fresh sampled `traceparent` for a call that came without one while no SDK runs here: logs
 * and functions still share a trace id, and services further on that do trace still record it.
 */
export function mintTraceparent(): string {
  // 24 random bytes per call from a pooled buffer: one getrandom call per 170 trace ids.
  if (entropyAt + 24 > entropy.length) {
    entropy = randomBytes(4096);
    entropyAt = 0;
  }
  const at = entropyAt;
  entropyAt += 24;
  return `00-${entropy.toString("hex", at, at + 16)}-${entropy.toString("hex", at + 16, at + 24)}-01`;
}
let entropy = Buffer.alloc(0);
let entropyAt = 0;

/** The trace id in a `traceparent`, for log lines; works whether or not the SDK runs. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const id = traceparent?.split("-")[1];
  return id && /^[0-9a-f]{32}$/.test(id) ? id : undefined;
}

function pick(c: TraceCarrier): TraceCarrier {
  const out: TraceCarrier = {};
  if (c.traceparent) out.traceparent = c.traceparent;
  if (c.tracestate) out.tracestate = c.tracestate;
  return out;
}

export { SpanKind, SpanStatusCode };
export type { Context, Span };
