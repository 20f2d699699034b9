import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { CALLBACK_QUEUE, type CallbackJob } from "@ferry/contracts";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { createAddressPolicy, createRegistry, sleep } from "@ferry/runtime";
import {
  Publisher,
  isConnected,
  openBodyStore,
  openEndpointTable,
  type EndpointTable,
  type FunctionRegistry,
  type NatsConnection,
} from "@ferry/jetstream";
import { gatewayApp } from "./app.js";
import type { AuthOptions } from "./auth.js";
import { clientErrorHandler, frameworkErrors } from "./errors.js";

/** Timeouts of the HTTP server; they cut off slow (slow-loris) clients. */
export interface ServerTimeouts {
  /** Longest time to receive a whole request, headers and body (408 beyond). Default 60 s. */
  requestMs?: number;
  /** Longest time to receive the headers (408 beyond). Default 10 s (at most `requestMs`). */
  headersMs?: number;
  /** Idle socket timeout; 0 = none. Default 0. */
  connectionMs?: number;
  /** How long an idle keep-alive connection is kept open. Default 72 s. */
  keepAliveMs?: number;
}

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  nc: NatsConnection;
  registry: FunctionRegistry;
  logger: Logger;
  /** Largest request body, bytes. */
  maxBodyBytes: number;
  /** Longest wait for a publish ack before 503. */
  publishTimeoutMs?: number;
  /** Registry for the gateway's metrics; a new one when absent. */
  metricsRegistry?: Registry;
  /** More registries to serve on `/metrics`. */
  extraRegistries?: Registry[];
  /** Time between failing readiness and closing, so load balancers stop sending. Default 0. */
  drainDelayMs?: number;
  /**
   * Redis of call status and the callback queue: enables `queued` records, the status and result
   * routes and `/system/callbacks`. Without it, none of these.
   */
  redis?: Redis;
  /** Seconds call status is kept; as the worker's. Default one day. */
  statusTtlSeconds?: number;
  /** Hosts, addresses and CIDRs callback URLs may point at although private. Default none. */
  callbackAllowlist?: readonly string[];
  /**
   * Bodies above this many bytes go to the object store (claim check); keep it under the
   * stream's message limit minus room for headers. Default 1 MiB - 64 KiB.
   */
  maxInlineBytes?: number;
  /** Replicas of the claim-check bucket. Default 1. */
  replicas?: number;
  /** How long an `Idempotency-Key` (and a cancel) is remembered. */
  idempotencyTtlSeconds?: number;
  /** Longest `X-Delay` / `X-Not-Before`. */
  maxDelayMs?: number;
  /** Log request bodies at debug (LOG_BODIES). Default false: bodies are never logged. */
  logBodies?: boolean;
  /** Ready replicas the provider publishes; opened (and closed) by the gateway when absent. */
  endpoints?: EndpointTable;
  /** Credentials of `/system`, `/ui`, `/metrics` and `auth: token` functions. Absent: open. */
  auth?: AuthOptions;
  /** Requests per client per window, shared by replicas through `redis`. Absent: no limit. */
  rateLimit?: { max: number; windowMs: number };
  /** Largest body of a `/system` request, bytes. Default 1 MiB. */
  systemBodyBytes?: number;
  /** Most headers per request (431 beyond). Default 100. */
  maxHeaders?: number;
  /** Largest size of all headers, bytes (431 beyond). Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Publishes in flight at once; beyond, 503 with `Retry-After`. Default 1000. */
  maxInflightPublishes?: number;
  /** Server timeouts. */
  timeouts?: ServerTimeouts;
  /** Trust `X-Forwarded-For` from a proxy in front (client address of rate limits). Default false. */
  trustProxy?: boolean;
  /** The dashboard's built files, served at `/ui` (UI_DIR). Default: no dashboard. */
  uiDir?: string;
}

/** A gateway: a Fastify server with Ferry's routes. */
export interface Gateway {
  app: FastifyInstance;
  /** Starts listening; resolves with the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /** Fails readiness, waits the drain delay, finishes in-flight requests and closes. */
  close(): Promise<void>;
}

/** Builds a gateway over an existing NATS connection and function registry. */
export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  let closing = false;
  const t = opts.timeouts ?? {};
  // Calls are accepted in milliseconds; a client that sends slower than this is cut off.
  const requestMs = t.requestMs ?? 60_000;
  const headersMs = Math.min(t.headersMs ?? 10_000, requestMs || Infinity);
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: "gateway" }) as FastifyBaseLogger,
    // One log line per call is written by the route, with the call id; none per HTTP request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.maxBodyBytes,
    requestTimeout: requestMs,
    connectionTimeout: t.connectionMs ?? 0,
    keepAliveTimeout: t.keepAliveMs ?? 72_000,
    http: {
      headersTimeout: headersMs,
      maxHeaderSize: opts.maxHeaderBytes ?? 16 * 1024,
      // Timeouts are checked this often; the default (30 s) would let short ones run long.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, headersMs / 4)),
    },
    clientErrorHandler,
    frameworkErrors,
    trustProxy: opts.trustProxy ?? false,
    return503OnClosing: true,
  });
  // One more than the limit, so that the gateway sees (and refuses) a request that is over it.
  app.server.maxHeadersCount = (opts.maxHeaders ?? 100) + 1;
  const maxInlineBytes = opts.maxInlineBytes ?? 1024 * 1024 - 64 * 1024;
  const bodies =
    opts.maxBodyBytes > maxInlineBytes
      ? await openBodyStore(opts.nc, { replicas: opts.replicas ?? 1 })
      : undefined;
  const callbackQueue = opts.redis
    ? new Queue<CallbackJob>(CALLBACK_QUEUE, { connection: opts.redis })
    : undefined;
  const endpoints =
    opts.endpoints ?? (await openEndpointTable(opts.nc, { logger: opts.logger, kind: "gateway" }));
  if (!opts.endpoints) app.addHook("onClose", async () => endpoints.close());
  const publisher = new Publisher(opts.nc);
  app.addHook("onClose", async () => publisher.close());
  await app.register(gatewayApp, {
    endpoints,
    jsm: await jetstreamManager(opts.nc),
    ...(opts.redis ? { redis: opts.redis } : {}),
    js: jetstream(opts.nc),
    publisher,
    registry: opts.registry,
    metricsRegistry: opts.metricsRegistry ?? createRegistry(),
    extraRegistries: opts.extraRegistries ?? [],
    ready: () => !closing && isConnected(opts.nc),
    maxBodyBytes: opts.maxBodyBytes,
    publishTimeoutMs: opts.publishTimeoutMs ?? 5_000,
    addressPolicy: createAddressPolicy(opts.callbackAllowlist ?? []),
    maxInlineBytes,
    ...(bodies ? { bodies } : {}),
    ...(opts.redis ? { redis: opts.redis } : {}),
    ...(opts.statusTtlSeconds ? { statusTtlSeconds: opts.statusTtlSeconds } : {}),
    ...(callbackQueue ? { callbackQueue } : {}),
    nc: opts.nc,
    ...(opts.idempotencyTtlSeconds !== undefined
      ? { idempotencyTtlSeconds: opts.idempotencyTtlSeconds }
      : {}),
    ...(opts.maxDelayMs !== undefined ? { maxDelayMs: opts.maxDelayMs } : {}),
    ...(opts.logBodies ? { logBodies: true } : {}),
    ...(opts.auth ? { auth: opts.auth } : {}),
    limits: {
      ...(opts.rateLimit ? { perClient: opts.rateLimit } : {}),
      ...(opts.systemBodyBytes ? { systemBodyBytes: opts.systemBodyBytes } : {}),
    },
    ...(opts.maxHeaders ? { maxHeaders: opts.maxHeaders } : {}),
    ...(opts.maxInflightPublishes ? { maxInflightPublishes: opts.maxInflightPublishes } : {}),
    ...(opts.uiDir ? { uiDir: opts.uiDir } : {}),
  });
  return {
    app,
    async listen(port, host = "0.0.0.0") {
      await app.listen({ port, host });
      const address = app.server.address();
      return typeof address === "object" && address ? address.port : port;
    },
    async close() {
      closing = true;
      await sleep(opts.drainDelayMs ?? 0);
      await app.close();
      await callbackQueue?.close();
    },
  };
}
