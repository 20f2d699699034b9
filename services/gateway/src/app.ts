import type { FastifyInstance } from "fastify";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { Registry } from "prom-client";
import type { EndpointTable, FunctionRegistry } from "@ferry/jetstream";
import { installErrorHandlers } from "./errors.js";
import { createGatewayMetrics } from "./metrics.js";
import { asyncFunctionRoutes } from "./routes/async-function.js";
import { healthRoutes } from "./routes/health.js";
import { functionRoutes } from "./routes/function.js";
import { systemFunctionsRoutes } from "./routes/system-functions.js";
import { systemInfoRoutes } from "./routes/system-info.js";
import { callStatusRoutes } from "./routes/call-status.js";
import type { Redis } from "ioredis";

/** Everything the gateway's routes need. */
export interface GatewayAppOptions {
  js: JetStreamClient;
  registry: FunctionRegistry;
  /** Registry the gateway's metrics are added to; also served on `/metrics`. */
  metricsRegistry: Registry;
  /** Extra registries served on `/metrics` (e.g. process metrics, other services in `ferry up`). */
  extraRegistries?: Registry[];
  /** Readiness: false while NATS is unreachable or the gateway is shutting down. */
  ready: () => boolean;
  maxBodyBytes: number;
  publishTimeoutMs: number;
  /** Ready replicas (sync invoke, function status). */
  endpoints: EndpointTable;
  /** For queue depths in `/system/functions` and `/system/queues`. */
  jsm: JetStreamManager;
  /** Call status store; enables `GET /async-function/status/:callId`. */
  redis?: Redis;
}

/** The gateway as a Fastify plugin: raw bodies, JSON errors, async invocation and health routes. */
export async function gatewayApp(app: FastifyInstance, opts: GatewayAppOptions): Promise<void> {
  // Bodies are passed to functions untouched, whatever their type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  installErrorHandlers(app);
  const metrics = createGatewayMetrics(opts.metricsRegistry);
  asyncFunctionRoutes(app, {
    js: opts.js,
    registry: opts.registry,
    metrics,
    maxBodyBytes: opts.maxBodyBytes,
    publishTimeoutMs: opts.publishTimeoutMs,
  });
  systemFunctionsRoutes(app, { registry: opts.registry, endpoints: opts.endpoints, jsm: opts.jsm });
  systemInfoRoutes(app, { registry: opts.registry, jsm: opts.jsm, version: "0.1.0" });
  await app.register(functionRoutes, {
    registry: opts.registry,
    endpoints: opts.endpoints,
    metrics,
  });
  if (opts.redis) callStatusRoutes(app, { redis: opts.redis });
  healthRoutes(app, {
    ready: opts.ready,
    registries: [opts.metricsRegistry, ...(opts.extraRegistries ?? [])],
  });
}
