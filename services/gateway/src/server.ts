import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { createRegistry, sleep } from "@ferry/runtime";
import {
  isConnected,
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
  /** Ready replicas the provider publishes; opened (and closed) by the gateway when absent. */
  endpoints?: EndpointTable;
  /** Call status store, for `GET /async-function/status/:callId`. */
  redis?: Redis;
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
    },
  };
}
