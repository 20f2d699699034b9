import { randomUUID } from "node:crypto";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  CALL_ID_PATTERN,
  EnvelopeError,
  FerryError,
  HttpHeaders,
  NAME_PATTERN,
  UNFORWARDED_HEADERS,
  encodeInvocation,
  invokeSubject,
  startTimeNanos,
  type FunctionSpec,
  type Invocation,
} from "@ferry/contracts";
import {
  toMsgHdrs,
  type BodyStore,
  type FunctionRegistry,
  type PublishesWithAck,
} from "@ferry/jetstream";
import type { AddressPolicy } from "@ferry/runtime";
import { SpanKind, currentTrace, extractTrace, injectTrace, mintTraceparent } from "@ferry/runtime";
import { nowMicros, traceIdOf, withSpan } from "@ferry/runtime";
import type { GatewayMetrics } from "../metrics.js";
import type { StatusStore } from "../status-store.js";
import { checkCallbackHost } from "./callback-guard.js";
import { hopByHopOf, pathOf } from "./request-parts.js";
import { notBeforeOf } from "../delay.js";
import type { IdempotencyStore } from "../idempotency.js";
import type { Authenticator } from "../auth.js";
import type { FunctionLimiter, PublishGate } from "../limits.js";

/** What the async route needs. */
export interface AsyncRouteOptions {
  /** Publishes calls to JetStream and waits for the ack: a `Publisher`. */
  publisher: PublishesWithAck;
  registry: FunctionRegistry;
  metrics: GatewayMetrics;
  /** Largest body accepted, bytes. */
  maxBodyBytes: number;
  /** Longest wait for the publish ack. */
  publishTimeoutMs: number;
  /** False while NATS is unreachable: calls are refused at once instead of waiting. */
  ready: () => boolean;
  /** Which hosts callback URLs may point at. */
  addressPolicy: AddressPolicy;
  /** Larger bodies go to `bodies` (claim check); without a body store they get 413. */
  maxInlineBytes: number;
  bodies?: BodyStore | undefined;
  /** Records accepted calls as queued; no status records without it. */
  status?: StatusStore | undefined;
  /** Remembers `Idempotency-Key`s; without it the header is ignored. */
  idempotency?: IdempotencyStore;
  /** Longest `X-Delay` / `X-Not-Before` accepted. Default one day. */
  maxDelayMs?: number;
  /** Log the first 4 KiB of each body at debug. Default false: bodies are never logged. */
  logBodies?: boolean;
  /** Checks the callers of functions with `auth: token`. */
  auth: Authenticator;
  /** Checks the rate limit of functions with a `rateLimit`. */
  limitFunction: FunctionLimiter;
  /** Bounds the publishes in flight. */
  gate: PublishGate;
}

type Params = { name: string; "*"?: string };

/** `POST /async-function/:name[/*]`: publish the call to JetStream, answer 202 after its ack. */
export function asyncFunctionRoutes(app: FastifyInstance, opts: AsyncRouteOptions): void {
  const handler = (
    req: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
  ): Promise<unknown> =>
    withSpan(
      "gateway accept",
      { parent: extractTrace(traceHeaders(req)), kind: SpanKind.SERVER },
      () => accept(req, reply, opts),
    );
  const routeOpts = { bodyLimit: opts.maxBodyBytes };
  app.post<{ Params: Params }>("/async-function/:name", routeOpts, handler);
  app.post<{ Params: Params }>("/async-function/:name/*", routeOpts, handler);
}

async function accept(
  req: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
  opts: AsyncRouteOptions,
): Promise<unknown> {
  const started = process.hrtime.bigint();
  const spec = lookup(opts.registry, req.params.name);
  if (spec.auth === "token") opts.auth.checkInvoke(req, reply, spec);
  if (spec.rateLimit) await opts.limitFunction(req, reply, spec);
  if (!opts.ready()) {
    reply.header("retry-after", "1");
    throw new FerryError("Unavailable", "the queue is unavailable, retry later");
  }
  checkBodySize(req, spec);
  opts.gate.enter(reply);
  try {
    return await publishCall(req, reply, opts, spec, started);
  } finally {
    opts.gate.leave();
  }
}

/** Builds the invocation, claims the idempotency key, publishes and answers 202. */
async function publishCall(
  req: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
  opts: AsyncRouteOptions,
  spec: FunctionSpec,
  started: bigint,
): Promise<unknown> {
  const inv = toInvocation(req, spec);
  Object.assign(inv, currentTrace(inv));
  inv.traceparent ??= mintTraceparent();
  if (inv.callbackUrl) await checkCallbackHost(opts.addressPolicy, inv.callbackUrl);
  const notBefore = notBeforeOf(req.headers, opts.maxDelayMs ?? 86_400_000);
  if (notBefore !== undefined) inv.notBefore = notBefore;
  // Made only when a line is written: binding a child logger costs more than the rest of a 202.
  let child: FastifyBaseLogger | undefined;
  const log = (): FastifyBaseLogger =>
    (child ??= req.log.child({
      callId: inv.callId,
      function: spec.name,
      traceId: traceIdOf(inv.traceparent),
    }));
  const idemKey = idempotencyKeyOf(req, opts);
  if (idemKey !== undefined && opts.idempotency) {
    const first = await opts.idempotency.claim(spec.name, idemKey, inv.callId);
    if (first !== undefined) return replyDuplicate(reply, first, opts, spec.name);
  }
  const body = await payloadOf(req, inv, opts).catch(async (err: unknown) => {
    if (idemKey !== undefined) await opts.idempotency?.release(spec.name, idemKey, inv.callId);
    throw err;
  });
  // Written while the publish is in flight (not after it: that would add a Redis round trip to
  // every 202). Safe either way round: the script never overwrites an existing record.
  const queued = opts.status
    ?.queued(inv, Buffer.isBuffer(req.body) ? req.body : undefined)
    .catch((err: unknown) => {
      log().warn({ err }, "cannot record the call as queued");
      return false;
    });
  try {
    const ack = await withSpan("gateway publish", publishSpan(inv), (_span, ctx) => {
      Object.assign(inv, injectTrace(ctx, inv));
      return opts.publisher.publish(invokeSubject(spec.queue, spec.name), body, {
        msgID: inv.callId,
        headers: toMsgHdrs(encodeInvocation(inv)),
        timeout: opts.publishTimeoutMs,
      });
    });
    if (req.log.level === "debug" || req.log.level === "trace") {
      const logged = opts.logBodies ? { body: bodyForLog(req) } : {};
      log().debug({ seq: ack.seq, duplicate: ack.duplicate, ...logged }, "call queued");
    }
    await queued;
  } catch (err) {
    if (err instanceof EnvelopeError) throw new FerryError("BadRequest", err.message);
    if (inv.bodyRef) void opts.bodies?.delete(inv.bodyRef).catch(() => {});
    if (await queued) await opts.status?.forget(inv.callId).catch(() => {});
    opts.metrics.invocations.inc({ function_name: spec.name, code: "503" });
    log().warn({ err }, "publish to JetStream failed");
    if (idemKey !== undefined) await opts.idempotency?.release(spec.name, idemKey, inv.callId);
    reply.header("retry-after", "1");
    throw new FerryError("Unavailable", "the queue is unavailable, retry later", { cause: err });
  }
  opts.metrics.invocations.inc({ function_name: spec.name, code: "202" });
  opts.metrics.shared.submitted.inc({ queue_name: spec.queue, function_name: spec.name });
  opts.metrics.acceptSeconds.observe(
    { function_name: spec.name },
    Number(process.hrtime.bigint() - started) / 1e9,
  );
  return reply
    .code(202)
    .header("x-call-id", inv.callId)
    .header("x-start-time", startTimeNanos(inv.enqueuedAt, inv.enqueuedAtUs))
    .send({ callId: inv.callId, status: "queued" });
}

/** The message payload: the body, or nothing when the body went to the object store. */
async function payloadOf(
  req: FastifyRequest,
  inv: Invocation,
  opts: AsyncRouteOptions,
): Promise<Uint8Array> {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if (body.byteLength <= opts.maxInlineBytes) return body;
  if (!opts.bodies) {
    throw new FerryError("PayloadTooLarge", "request body is larger than the limit");
  }
  try {
    await opts.bodies.put(inv.callId, body);
  } catch (err) {
    throw new FerryError("Unavailable", "the body store is unavailable, retry later", {
      cause: err,
    });
  }
  inv.bodyRef = inv.callId;
  inv.bodySize = body.byteLength;
  return new Uint8Array(0);
}

function idempotencyKeyOf(req: FastifyRequest, opts: AsyncRouteOptions): string | undefined {
  const raw = req.headers[HttpHeaders.IdempotencyKey];
  const key = Array.isArray(raw) ? raw[0] : raw;
  return opts.idempotency && key ? key : undefined;
}

function replyDuplicate(
  reply: FastifyReply,
  callId: string,
  opts: AsyncRouteOptions,
  fn: string,
): FastifyReply {
  opts.metrics.invocations.inc({ function_name: fn, code: "202" });
  return reply
    .code(202)
    .header("x-call-id", callId)
    .header(HttpHeaders.Duplicate, "true")
    .send({ callId, status: "duplicate" });
}

function bodyForLog(req: FastifyRequest): string {
  return Buffer.isBuffer(req.body) ? req.body.subarray(0, 4096).toString("utf8") : "";
}

function traceHeaders(req: FastifyRequest): { traceparent?: string; tracestate?: string } {
  const { traceparent, tracestate } = req.headers;
  return {
    ...(typeof traceparent === "string" ? { traceparent } : {}),
    ...(typeof tracestate === "string" ? { tracestate } : {}),
  };
}

function publishSpan(inv: Invocation) {
  const attributes = { "ferry.call_id": inv.callId, "ferry.function": inv.function };
  return { kind: SpanKind.PRODUCER, attributes };
}

function lookup(registry: FunctionRegistry, name: string): FunctionSpec {
  const spec = NAME_PATTERN.test(name) ? registry.get(name) : undefined;
  if (!spec) throw new FerryError("FunctionNotFound", `function "${name}" not found`);
  return spec;
}

/** 413 when the body is over the function's own `maxBodyBytes`. */
function checkBodySize(req: FastifyRequest, spec: FunctionSpec): void {
  if (spec.maxBodyBytes === undefined) return;
  const size = Buffer.isBuffer(req.body) ? req.body.byteLength : 0;
  if (size > spec.maxBodyBytes) {
    throw new FerryError("PayloadTooLarge", `the body is over ${spec.maxBodyBytes} bytes`);
  }
}

function toInvocation(req: FastifyRequest<{ Params: Params }>, spec: FunctionSpec): Invocation {
  const us = nowMicros();
  const inv: Invocation = {
    callId: callIdOf(req),
    function: spec.name,
    queue: spec.queue,
    method: req.method,
    path: pathOf(req.params["*"]),
    query: queryOf(req.url),
    enqueuedAt: Math.floor(us / 1000),
    enqueuedAtUs: us,
    headers: forwardedHeaders(req, spec.auth === "token"),
  };
  const callbackUrl = callbackUrlOf(req);
  if (callbackUrl) inv.callbackUrl = callbackUrl;
  const traceparent = req.headers.traceparent;
  if (typeof traceparent === "string") inv.traceparent = traceparent;
  const tracestate = req.headers.tracestate;
  if (typeof tracestate === "string") inv.tracestate = tracestate;
  return inv;
}

function callIdOf(req: FastifyRequest): string {
  const given = req.headers[HttpHeaders.CallId];
  if (given === undefined) return randomUUID();
  if (typeof given !== "string" || !CALL_ID_PATTERN.test(given)) {
    throw new FerryError("BadCallId", "X-Call-Id must be 1-128 letters, digits, '.', '_' or '-'");
  }
  return given;
}

function callbackUrlOf(req: FastifyRequest): string | undefined {
  const raw = req.headers[HttpHeaders.CallbackUrl];
  if (raw === undefined || raw === "") return undefined;
  const value = Array.isArray(raw) ? raw[0] : raw;
  let url: URL;
  try {
    url = new URL(value ?? "");
  } catch {
    throw new FerryError("BadCallbackUrl", "X-Callback-Url must be an absolute http or https URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new FerryError("BadCallbackUrl", "X-Callback-Url must use http or https");
  }
  if (url.username || url.password) {
    throw new FerryError("BadCallbackUrl", "X-Callback-Url must not carry credentials");
  }
  return url.href;
}

function queryOf(url: string): string {
  const i = url.indexOf("?");
  return i < 0 ? "" : url.slice(i + 1);
}

/**
 * Request headers for the function: not hop-by-hop ones (also those `Connection` names), not
 * the envelope's own, and not `Authorization` when the gateway checked it (`auth: token`).
 */
function forwardedHeaders(req: FastifyRequest, dropAuthorization: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const hopByHop = hopByHopOf(req);
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || UNFORWARDED_HEADERS.has(name)) continue;
    if (hopByHop.includes(name) || (dropAuthorization && name === "authorization")) continue;
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}
