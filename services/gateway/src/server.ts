import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { CALLBACK_QUEUE, type CallbackJob } from "@ferry/contracts";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { createAddressPolicy, createRegistry, sleep } from "@ferry/runtime";
import {
  isConnected,
  openBodyStore,
  openEndpointTable,
  type EndpointTable,
  type FunctionRegistry,
  type NatsConnection,
} from "@ferry/jetstream";
import { gatewayApp } from "./app.js";

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
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: "gateway" }) as FastifyBaseLogger,
    // One log line per call is written by the route, with the call id; none per HTTP request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.maxBodyBytes,
    // Calls are accepted in milliseconds; a client that sends slower than this is cut off.
    requestTimeout: 60_000,
    return503OnClosing: true,
  });
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
  await app.register(gatewayApp, {
    endpoints,
    jsm: await jetstreamManager(opts.nc),
    ...(opts.redis ? { redis: opts.redis } : {}),
    js: jetstream(opts.nc),
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
