import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Agent, errors, type Dispatcher } from "undici";
import {
  FerryError,
  HttpHeaders,
  NAME_PATTERN,
  UNFORWARDED_HEADERS,
  type FunctionSpec,
} from "@ferry/contracts";
import type { EndpointLease, EndpointTable, FunctionRegistry } from "@ferry/jetstream";
import { SpanKind, currentTrace, extractTrace, withSpan } from "@ferry/runtime";
import type { GatewayMetrics } from "../metrics.js";
import type { Authenticator } from "../auth.js";
import type { FunctionLimiter } from "../limits.js";
import { hopByHopOf, pathOf } from "./request-parts.js";

/** What the sync invoke route needs. */
export interface FunctionRouteOptions {
  registry: FunctionRegistry;
  endpoints: EndpointTable;
  metrics: GatewayMetrics;
  /** Longest wait for a replica of a function scaled to zero. Default 30 s. */
  scaleFromZeroWaitMs?: number;
  /** Checks the callers of functions with `auth: token`. */
  auth: Authenticator;
  /** Checks the rate limit of functions with a `rateLimit`. */
  limitFunction: FunctionLimiter;
}

type Params = { name: string; "*"?: string };

const NO_BODY = new Set(["GET", "HEAD", "OPTIONS", "DELETE"]);
const UNRETURNED = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);

/** `ANY /function/:name[/*]`: a sync call, streamed both ways to a ready replica. */
export async function functionRoutes(
  app: FastifyInstance,
  opts: FunctionRouteOptions,
): Promise<void> {
  // Bodies stream through untouched: the parser does not read them (this plugin's scope only).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
  app.addHook("onClose", async () => agent.close());
  const handler = (
    req: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
  ): Promise<unknown> =>
    withSpan("gateway proxy", proxySpan(req), () => invoke(req, reply, opts, agent));
  app.all<{ Params: Params }>("/function/:name", handler);
  app.all<{ Params: Params }>("/function/:name/*", handler);
}

async function invoke(
  req: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
  opts: FunctionRouteOptions,
  agent: Agent,
): Promise<unknown> {
  const name = req.params.name;
  const spec = NAME_PATTERN.test(name) ? opts.registry.get(name) : undefined;
  if (!spec) throw new FerryError("FunctionNotFound", `function "${name}" not found`);
  if (spec.auth === "token") opts.auth.checkInvoke(req, reply, spec);
  if (spec.rateLimit) await opts.limitFunction(req, reply, spec);
  const rest = pathOf(req.params["*"]).slice(1);
  const length = Number(req.headers["content-length"] ?? 0);
  if (spec.maxBodyBytes !== undefined && length > spec.maxBodyBytes) {
    throw new FerryError("PayloadTooLarge", `the body is over ${spec.maxBodyBytes} bytes`);
  }
  const callId = randomUUID();
  // Bound only when a line is written: a child logger per call was a twentieth of this route's CPU.
  let child: FastifyBaseLogger | undefined;
  const log = (): FastifyBaseLogger => (child ??= req.log.child({ callId, function: name }));
  const started = performance.now();
  opts.metrics.shared.started.inc({ function_name: name });
  const count = (code: number): void => {
    opts.metrics.invocations.inc({ function_name: name, code: String(code) });
    const seconds = (performance.now() - started) / 1000;
    opts.metrics.shared.seconds.observe({ function_name: name, code: String(code) }, seconds);
  };
  const body = NO_BODY.has(req.method) ? null : await requestBody(req);
  const lease = await endpointFor(spec, opts);
  if (!lease) {
    count(503);
    reply.header("retry-after", "1");
    throw new FerryError("Unavailable", `no ready replica of "${name}"`);
  }
  const abort = new AbortController();
  reply.raw.once("close", () => reply.raw.writableFinished || abort.abort());
  let res: Dispatcher.ResponseData;
  try {
    const target = new URL(lease.url);
    res = await agent.request({
      origin: target.origin,
      path: joinPath(target.pathname, rest) + queryOf(req.url),
      method: req.method as Dispatcher.HttpMethod,
      headers: forwarded(req, callId, spec.auth === "token"),
      body,
      headersTimeout: spec.timeout,
      bodyTimeout: spec.timeout,
      signal: abort.signal,
    });
  } catch (err) {
    lease.release();
    const timedOut = err instanceof errors.HeadersTimeoutError;
    count(timedOut ? 504 : 502);
    log().warn({ err }, "sync call failed");
    if (timedOut) throw new FerryError("Timeout", `"${name}" did not answer in ${spec.timeout} ms`);
    throw new FerryError("BadGateway", `"${name}" could not be reached`);
  }
  res.body.once("close", () => lease.release());
  res.body.once("error", (err) => log().warn({ err }, "sync response stream failed"));
  // A small answer of known length is read whole and sent with its head in one write, with its
  // length; the rest streams through (chunked, as it arrives).
  let answer: Buffer | Readable = res.body;
  if (req.method !== "HEAD" && isSmall(res.headers["content-length"])) {
    try {
      answer = Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      count(502);
      log().warn({ err }, "sync response failed");
      throw new FerryError("BadGateway", `"${name}" broke off its answer`);
    }
  }
  count(res.statusCode);
  reply.code(res.statusCode);
  for (const [key, value] of Object.entries(res.headers)) {
    if (value !== undefined && !UNRETURNED.has(key)) reply.header(key, value);
  }
  reply.header(HttpHeaders.CallId, callId);
  return reply.send(answer);
}

/** Bodies up to this size are read whole instead of streamed: one write instead of several. */
const SMALL_BODY_BYTES = 16 * 1024;

function isSmall(length: string | string[] | undefined): boolean {
  return typeof length === "string" && Number(length) <= SMALL_BODY_BYTES;
}

/**
 * The request body for the function: a small one of known length (nearly always whole already,
 * in the request's first packet) as one buffer, which undici writes with the head in one
 * syscall; any other streams through as it arrives.
 */
function requestBody(req: FastifyRequest): Promise<Buffer> | IncomingMessage {
  const raw = req.raw;
  if (raw.headers["transfer-encoding"] !== undefined || !isSmall(raw.headers["content-length"])) {
    return raw;
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    raw.on("data", (c: Buffer) => chunks.push(c));
    raw.once("end", () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)),
    );
    raw.once("error", reject);
    raw.once("close", () => {
      if (!raw.complete) reject(new FerryError("BadRequest", "the request body ended early"));
    });
  });
}

/** A fixed `url`, or a provider replica (asking for one and waiting when none is ready). */
async function endpointFor(
  spec: FunctionSpec,
  opts: FunctionRouteOptions,
): Promise<EndpointLease | undefined> {
  if (!spec.watchdog) return spec.url ? { url: spec.url, release: () => {} } : undefined;
  const waitMs = Math.min(opts.scaleFromZeroWaitMs ?? 30_000, spec.timeout);
  return opts.endpoints.acquire(spec.name, { waitMs });
}

function forwarded(
  req: FastifyRequest,
  callId: string,
  dropAuthorization: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  const hopByHop = hopByHopOf(req);
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined || UNFORWARDED_HEADERS.has(key) || hopByHop.includes(key)) continue;
    if (dropAuthorization && key === "authorization") continue;
    out[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  for (const key of ["content-length", "traceparent", "tracestate"]) {
    const value = req.headers[key];
    if (typeof value === "string") out[key] = value;
  }
  out[HttpHeaders.CallId] = callId;
  // The function continues the trace from the gateway's proxy span (the caller's when tracing is off).
  return Object.assign(out, currentTrace(out));
}

function proxySpan(req: FastifyRequest<{ Params: Params }>) {
  const { traceparent, tracestate } = req.headers;
  const carrier = {
    ...(typeof traceparent === "string" ? { traceparent } : {}),
    ...(typeof tracestate === "string" ? { tracestate } : {}),
  };
  const attributes = { "ferry.function": req.params.name };
  return { parent: extractTrace(carrier), kind: SpanKind.SERVER, attributes };
}

function joinPath(base: string, rest: string): string {
  return `${base.replace(/\/+$/, "")}/${rest}`;
}

function queryOf(url: string): string {
  const i = url.indexOf("?");
  return i < 0 ? "" : url.slice(i);
}
