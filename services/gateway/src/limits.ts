import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import rateLimit from "@fastify/rate-limit";
import type { Redis } from "ioredis";
import { FerryError, type FunctionSpec } from "@ferry/contracts";

/** Request limits of the gateway beyond body size. */
export interface LimitOptions {
  /** Requests one client (address) may make per `windowMs`, across all replicas. Absent: none. */
  perClient?: { max: number; windowMs: number };
  /** Largest body of a `/system` request, bytes. Default 1 MiB. */
  systemBodyBytes?: number;
  /** Redis the counters live in, so that replicas share them; per process without it. */
  redis?: Redis;
}

/** Checks a function's own rate limit (`rateLimit` in its spec). */
export type FunctionLimiter = (
  req: FastifyRequest,
  reply: FastifyReply,
  spec: FunctionSpec,
) => Promise<void>;

/** Paths never limited: probes must answer whatever the load. */
const UNLIMITED = new Set(["/healthz", "/readyz"]);

/** Throws 431 when a request carries more than `max` headers. */
export function checkHeaderCount(req: FastifyRequest, max: number): void {
  // rawHeaders holds name and value in turn.
  if (req.raw.rawHeaders.length > 2 * max) {
    throw new FerryError("HeadersTooLarge", `a request may carry at most ${max} headers`);
  }
}

/**
 * Installs the `/system` body limit and the per-client rate limit (an `onRequest` hook, only
 * when configured). Returns the per-function limiter that the invocation routes call for
 * functions with a `rateLimit`.
 */
export async function installLimits(
  app: FastifyInstance,
  opts: LimitOptions,
): Promise<FunctionLimiter> {
  const systemBodyBytes = opts.systemBodyBytes ?? 1024 * 1024;
  app.addHook("onRoute", (route) => {
    if (route.url.startsWith("/system") && route.bodyLimit === undefined) {
      route.bodyLimit = systemBodyBytes;
    }
  });
  await app.register(rateLimit, {
    global: false,
    skipOnError: true, // a Redis outage must not stop the gateway
    nameSpace: "ferry:ratelimit:",
    ...(opts.redis ? { redis: opts.redis } : {}),
  });
  if (opts.perClient) {
    const { max, windowMs } = opts.perClient;
    const check = app.createRateLimit({
      max,
      timeWindow: windowMs,
      keyGenerator: (req) => `client:${req.ip}`,
    });
    app.addHook("onRequest", async (req, reply) => {
      if (UNLIMITED.has(req.url)) return;
      refuseIfExceeded(await check(req), reply, "this client");
    });
  }
  const perFunction = app.createRateLimit({
    max: (req) => limitOf(req).max,
    timeWindow: (req) => limitOf(req).window,
    keyGenerator: (req) => `fn:${specOf(req).name}`,
  });
  return async (req, reply, spec) => {
    (req as WithSpec)[SPEC] = spec;
    refuseIfExceeded(await perFunction(req), reply, `function "${spec.name}"`);
  };
}

const SPEC = Symbol("ferry.spec");
type WithSpec = FastifyRequest & { [SPEC]?: FunctionSpec };
const specOf = (req: FastifyRequest): FunctionSpec => (req as WithSpec)[SPEC] as FunctionSpec;
const limitOf = (req: FastifyRequest): { max: number; window: number } =>
  specOf(req).rateLimit ?? { max: Number.MAX_SAFE_INTEGER, window: 60_000 };

type Outcome =
  { isAllowed: true } | { isAllowed: false; isExceeded: boolean; ttlInSeconds: number };

function refuseIfExceeded(outcome: Outcome, reply: FastifyReply, who: string): void {
  if (outcome.isAllowed || !outcome.isExceeded) return;
  reply.header("retry-after", String(Math.max(1, outcome.ttlInSeconds)));
  throw new FerryError("TooManyRequests", `rate limit of ${who} exceeded, retry later`);
}

/**
 * Bounds the publishes in flight: beyond `max`, calls get 503 with `Retry-After` at once instead
 * of queueing in memory while JetStream is slow or away.
 */
export interface PublishGate {
  /** Takes a slot or throws 503. */
  enter(reply: FastifyReply): void;
  /** Gives the slot back. */
  leave(): void;
  /** Publishes in flight now. */
  readonly inflight: number;
}

/** A gate of `max` slots. */
export function createPublishGate(max: number): PublishGate {
  let inflight = 0;
  return {
    enter(reply) {
      if (inflight >= max) {
        reply.header("retry-after", "1");
        throw new FerryError("Unavailable", "too many calls in flight, retry later");
      }
      inflight++;
    },
    leave() {
      inflight--;
    },
    get inflight() {
      return inflight;
    },
  };
}
