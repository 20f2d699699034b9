import { jetstreamManager } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { FunctionSpec } from "@ferry/contracts";
import {
  connectNats,
  openEndpointTable,
  openFunctionRegistry,
  provisionStreams,
  DEFAULT_STREAM_SETTINGS,
  type ConsumerSettings,
  type EndpointTable,
  type FunctionRegistry,
  type NatsConnection,
} from "@ferry/jetstream";
import { coalesceWrites, logConnectionErrors, createRegistry } from "@ferry/runtime";
import { createGateway, type Gateway, type GatewayOptions } from "@ferry/gateway";
import { createQueueWorker, type QueueWorker } from "@ferry/queue-worker";
import {
  createCallbackWorker,
  type CallbackWorker,
  type DeliveryOptions,
  type RetryPolicy,
} from "@ferry/callbacks";
import { createProvider, type Provider } from "@ferry/provider";
import { createAddressPolicy } from "@ferry/runtime";
import type { Registry } from "@ferry/runtime";

/** Options of {@link startStack}. */
export interface StackOptions {
  natsUrl: string;
  redisUrl: string;
  logger: Logger;
  /** Gateway port; 0 picks a free one. */
  port: number;
  host?: string;
  /** Largest request body, bytes. Default just under 1 MiB. */
  maxBodyBytes?: number;
  /** Worker concurrency per queue. */
  maxInflight?: number;
  /** Names the worker in call records and timelines. Default host name and pid. */
  workerId?: string;
  consumer?: ConsumerSettings;
  /** Where a function is served now (e.g. replicas `ferry up` started). Default: the spec's url. */
  resolveEndpoint?: (spec: FunctionSpec) => string | undefined;
  /** Run the queue-worker in this process. Default true. */
  worker?: boolean;
  /** Run the callbacks worker in this process. Default true. */
  callbacks?: boolean;
  /** Stream and registry bucket replicas: 3 on a 3-node cluster. Default 1. */
  replicas?: number;
  /** Hosts, addresses and CIDRs callbacks may reach although private (`ferry up`: 127.0.0.1). */
  callbackAllowlist?: string[];
  /** `whsec_` secrets signing callbacks. Default none (unsigned). */
  signingSecrets?: string[];
  /** Callback attempts and backoff. Default 10 attempts over about an hour. */
  callbackRetry?: RetryPolicy;
  /** Timeout of one callback attempt. Default 10 s. */
  callbackTimeoutMs?: number;
  /**
   * The worker makes each callback's first attempt itself (with this timeout, default 2 s), the
   * callbacks service the later ones; false queues every attempt. Default true.
   */
  callbackFirstAttempt?: boolean | { timeoutMs: number };
  /** Seconds call status and results are kept. Default one day. */
  statusTtlSeconds?: number;
  /**
   * Security settings of the gateway: credentials (`auth`; absent = /system, /ui and /metrics
   * open, as tests want), rate limit, timeouts and header limits. Default: none of them.
   */
  gatewaySecurity?: GatewaySecurity;
  /** The dashboard's build, served by the gateway at `/ui`. Default: no dashboard. */
  uiDir?: string;
  /** Run the local provider in this process (function replicas, autoscaling). Default: no. */
  provider?: {
    baseDir: string;
    scaleDownDelayMs?: number;
    tickMs?: number;
    compiledWatchdog?: boolean;
  };
}

/** The gateway's security options a stack passes through. */
export type GatewaySecurity = Pick<
  GatewayOptions,
  | "auth"
  | "rateLimit"
  | "systemBodyBytes"
  | "maxHeaders"
  | "maxHeaderBytes"
  | "maxInflightPublishes"
  | "timeouts"
  | "trustProxy"
>;

/** Gateway, queue-worker and callbacks composed in one process: `ferry up` and the tests. */
export interface Stack {
  /** e.g. `http://127.0.0.1:8080` */
  gatewayUrl: string;
  nc: NatsConnection;
  registry: FunctionRegistry;
  gateway: Gateway;
  worker: QueueWorker | undefined;
  /** Ready replicas, as the provider publishes them. */
  endpoints: EndpointTable;
  provider: Provider | undefined;
  /** The registry every service of the stack adds its metrics to, served on `/metrics`. */
  metricsRegistry: Registry;
  stop(): Promise<void>;
}

/** Connects, provisions streams, and starts the services of the async path. */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const { logger } = opts;
  const nc = await connectNats({ servers: opts.natsUrl, name: "ferry", logger });
  const replicas = opts.replicas ?? DEFAULT_STREAM_SETTINGS.replicas;
  await provisionStreams(await jetstreamManager(nc), { ...DEFAULT_STREAM_SETTINGS, replicas });
  const registry = await openFunctionRegistry(nc, { logger, replicas });
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const bullRedis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  // The gateway's own connection that gives up fast: a slow or absent Redis must not hold up a
  // 202 for long (the call is durable once JetStream acked it); callers get a 503, not a hang.
  const gatewayRedis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
  // BullMQ's connection is left as it is: it blocks on BZPOPMIN-style commands, and batches itself.
  coalesceWrites(redis);
  coalesceWrites(gatewayRedis);
  logConnectionErrors(redis, logger, "redis");
  logConnectionErrors(bullRedis, logger, "redis-queue");
  logConnectionErrors(gatewayRedis, logger, "redis-gateway");
  const metricsRegistry = createRegistry();
  const delivery: DeliveryOptions = {
    addressPolicy: createAddressPolicy(opts.callbackAllowlist ?? []),
    signingSecrets: opts.signingSecrets ?? [],
    ...(opts.callbackRetry ? { retry: opts.callbackRetry } : {}),
    ...(opts.callbackTimeoutMs ? { timeoutMs: opts.callbackTimeoutMs } : {}),
  };
  const first = opts.callbackFirstAttempt ?? true;
  const provider = opts.provider
    ? await createProvider({ nc, registry, logger, metricsRegistry, ...opts.provider })
    : undefined;
  const endpoints = await openEndpointTable(nc, { logger, kind: "worker" });
  const gatewayEndpoints = await openEndpointTable(nc, { logger, kind: "gateway" });
  const gateway = await createGateway({
    nc,
    registry,
    endpoints: gatewayEndpoints,
    logger,
    maxBodyBytes: opts.maxBodyBytes ?? 32 * 1024 * 1024,
    metricsRegistry,
    extraRegistries: [createRegistry({ defaults: true })],
    redis: gatewayRedis,
    callbackAllowlist: opts.callbackAllowlist ?? [],
    maxInlineBytes: DEFAULT_STREAM_SETTINGS.maxMsgBytes - 64 * 1024,
    ...(opts.statusTtlSeconds ? { statusTtlSeconds: opts.statusTtlSeconds } : {}),
    ...opts.gatewaySecurity,
    ...(opts.uiDir ? { uiDir: opts.uiDir } : {}),
  });
  const worker =
    opts.worker === false
      ? undefined
      : await createQueueWorker({
          nc,
          redis,
          bullRedis,
          registry,
          logger,
          maxInflight: opts.maxInflight ?? 100,
          ...(opts.workerId ? { workerId: opts.workerId } : {}),
          ...(opts.consumer ? { consumer: opts.consumer } : {}),
          ...(opts.resolveEndpoint ? { resolveEndpoint: opts.resolveEndpoint } : {}),
          endpoints,
          metricsRegistry,
          ...(opts.statusTtlSeconds ? { statusTtlSeconds: opts.statusTtlSeconds } : {}),
          ...(first
            ? {
                firstCallback: {
                  ...delivery,
                  ...(typeof first === "object" ? { firstTimeoutMs: first.timeoutMs } : {}),
                },
              }
            : {}),
        });
  const callbacks: CallbackWorker | undefined =
    opts.callbacks === false
      ? undefined
      : createCallbackWorker({
          redis,
          bullRedis,
          logger,
          metricsRegistry,
          ...delivery,
        });
  const port = await gateway.listen(opts.port, opts.host ?? "127.0.0.1");
  return {
    gatewayUrl: `http://127.0.0.1:${port}`,
    nc,
    registry,
    gateway,
    worker,
    endpoints,
    provider,
    metricsRegistry,
    async stop() {
      await gateway.close();
      await worker?.stop(10_000);
      await callbacks?.stop();
      await provider?.close();
      await Promise.all([endpoints.close(), gatewayEndpoints.close()]);
      await registry.close();
      await nc.drain();
      await Promise.all([redis.quit(), bullRedis.quit(), gatewayRedis.quit()]);
    },
  };
}
