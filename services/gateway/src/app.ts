import type { FastifyInstance } from "fastify";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { Registry } from "prom-client";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { CallbackJob } from "@ferry/contracts";
import type { BodyStore, EndpointTable, FunctionRegistry } from "@ferry/jetstream";
import type { AddressPolicy } from "@ferry/runtime";
import { createStatusStore } from "./status-store.js";
import { statusRoutes } from "./routes/status.js";
import { systemCallbackRoutes } from "./routes/system-callbacks.js";
import { installErrorHandlers } from "./errors.js";
import { createGatewayMetrics } from "./metrics.js";
import { httpMetricsHook } from "./http-metrics.js";
import { asyncFunctionRoutes, type AsyncRouteOptions } from "./routes/async-function.js";
import { healthRoutes } from "./routes/health.js";
import { systemEventsRoutes } from "./routes/system-events.js";
import type { NatsConnection } from "@ferry/jetstream";
import { DlqStore } from "./dlq/store.js";
import { IdempotencyStore } from "./idempotency.js";
import { asyncCancelRoutes } from "./routes/async-cancel.js";
import { systemDlqRoutes } from "./routes/system-dlq.js";
import { functionRoutes } from "./routes/function.js";
import { systemFunctionsRoutes } from "./routes/system-functions.js";
import { systemInfoRoutes } from "./routes/system-info.js";
import { authGuard, createAuthenticator, type AuthOptions, type Authenticator } from "./auth.js";
import { checkHeaderCount, createPublishGate, installLimits } from "./limits.js";
import type { LimitOptions } from "./limits.js";
import { systemDashboardRoutes } from "./routes/system-dashboard.js";
import { dashboardUi } from "./routes/ui.js";
import { FerryError } from "@ferry/contracts";

/** Everything the gateway's routes need. */
export interface GatewayAppOptions {
  js: JetStreamClient;
  /** Publishes async calls (the 202 path). */
  publisher: AsyncRouteOptions["publisher"];
  registry: FunctionRegistry;
  /** Registry the gateway's metrics are added to; also served on `/metrics`. */
  metricsRegistry: Registry;
  /** Extra registries served on `/metrics` (e.g. process metrics, other services in `ferry up`). */
  extraRegistries?: Registry[];
  /** Readiness: false while NATS is unreachable or the gateway is shutting down. */
  ready: () => boolean;
  maxBodyBytes: number;
  publishTimeoutMs: number;
  /** Which hosts callback URLs may point at. */
  addressPolicy: AddressPolicy;
  /** Bodies above this go to `bodies` (claim check). */
  maxInlineBytes: number;
  bodies?: BodyStore;
  /** Redis of call status: enables `queued` records and the status and result routes. */
  redis?: Redis;
  /** Seconds a `queued` record lives (as the worker's STATUS_TTL). */
  statusTtlSeconds?: number;
  /** The callback queue: enables the `/system/callbacks` routes. */
  callbackQueue?: Queue<CallbackJob>;
  /** The NATS connection, to announce cancels to the workers. */
  nc?: NatsConnection;
  /** How long an `Idempotency-Key` (and a cancel) is remembered. Default one day. */
  idempotencyTtlSeconds?: number;
  /** Longest `X-Delay` / `X-Not-Before`. Default one day. */
  maxDelayMs?: number;
  /** Log request bodies at debug. Default false: bodies are never logged. */
  logBodies?: boolean;
  /** Ready replicas (sync invoke, function status). */
  endpoints: EndpointTable;
  /** For queue depths in `/system/functions` and `/system/queues`. */
  jsm: JetStreamManager;
  /**
   * Credentials of `/system`, `/ui` and `/metrics` and of functions with `auth: token`. Absent:
   * those paths are open (tests, embedding), and `auth: token` functions refuse every call.
   */
  auth?: AuthOptions;
  /** Per-client rate limit and the `/system` body limit (Redis from `redis`). */
  limits?: Omit<LimitOptions, "redis">;
  /** Most headers a request may carry; 431 beyond. Default 100. */
  maxHeaders?: number;
  /** Publishes in flight at once; beyond, 503 with `Retry-After`. Default 1000. */
  maxInflightPublishes?: number;
  /** The dashboard's built files (`@ferry/dashboard`'s dist), served at `/ui`; none when absent. */
  uiDir?: string;
}

/** The gateway as a Fastify plugin: raw bodies, JSON errors, async invocation and health routes. */
export async function gatewayApp(app: FastifyInstance, opts: GatewayAppOptions): Promise<void> {
  // Bodies are passed to functions untouched, whatever their type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  installErrorHandlers(app);
  // The client rate limit comes first, so that guessing credentials is limited too.
  const limitFunction = await installLimits(app, {
    ...opts.limits,
    ...(opts.redis ? { redis: opts.redis } : {}),
  });
  const auth = createAuthenticator(opts.auth ?? {});
  edgeHook(app, opts.auth && !opts.auth.open ? auth : undefined, opts.maxHeaders ?? 100);
  const metrics = createGatewayMetrics(opts.metricsRegistry);
  httpMetricsHook(app, metrics.shared);
  const status = opts.redis && createStatusStore(opts.redis, opts.statusTtlSeconds ?? 86_400);
  if (status) statusRoutes(app, { store: status });
  if (opts.callbackQueue && opts.redis) {
    systemCallbackRoutes(app, { queue: opts.callbackQueue, redis: opts.redis });
  }
  asyncFunctionRoutes(app, {
    publisher: opts.publisher,
    registry: opts.registry,
    metrics,
    maxBodyBytes: opts.maxBodyBytes,
    publishTimeoutMs: opts.publishTimeoutMs,
    ready: opts.ready,
    addressPolicy: opts.addressPolicy,
    maxInlineBytes: opts.maxInlineBytes,
    bodies: opts.bodies,
    status,
    ...(opts.redis
      ? { idempotency: new IdempotencyStore(opts.redis, opts.idempotencyTtlSeconds ?? 86_400) }
      : {}),
    ...(opts.maxDelayMs !== undefined ? { maxDelayMs: opts.maxDelayMs } : {}),
    ...(opts.logBodies ? { logBodies: true } : {}),
    auth,
    limitFunction,
    gate: createPublishGate(opts.maxInflightPublishes ?? 1000),
  });
  if (opts.redis && opts.nc) {
    asyncCancelRoutes(app, {
      redis: opts.redis,
      nc: opts.nc,
      ttlSeconds: opts.idempotencyTtlSeconds ?? 86_400,
    });
  }
  systemDlqRoutes(app, {
    dlq: new DlqStore(await opts.js.jetstreamManager(), opts.js),
    ...(opts.redis ? { redis: opts.redis } : {}),
  });
  systemEventsRoutes(app, opts);
  systemFunctionsRoutes(app, { registry: opts.registry, endpoints: opts.endpoints, jsm: opts.jsm });
  systemInfoRoutes(app, { registry: opts.registry, jsm: opts.jsm, nc: opts.nc, version: "0.1.0" });
  systemDashboardRoutes(app, {
    registry: opts.registry,
    jsm: opts.jsm,
    nc: opts.nc,
    redis: opts.redis,
  });
  if (opts.uiDir) await app.register(dashboardUi, { root: opts.uiDir });
  else {
    app.get("/ui", async () => {
      throw new FerryError("NotFound", "the dashboard is not built: run npm run build");
    });
  }
  await app.register(functionRoutes, {
    registry: opts.registry,
    endpoints: opts.endpoints,
    metrics,
    auth,
    limitFunction,
  });
  healthRoutes(app, {
    ready: opts.ready,
    registries: [opts.metricsRegistry, ...(opts.extraRegistries ?? [])],
  });
}

/**
 * The one `onRequest` hook of every request: the header count, then the credentials of the
 * protected prefixes. Synchronous and a few comparisons for the invocation routes.
 */
function edgeHook(app: FastifyInstance, auth: Authenticator | undefined, maxHeaders: number): void {
  const guard = auth && authGuard(auth);
  app.addHook("onRequest", (req, reply, done) => {
    try {
      checkHeaderCount(req, maxHeaders);
      guard?.(req, reply);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  });
}
