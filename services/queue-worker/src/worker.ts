import { hostname } from "node:os";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { CALLBACK_QUEUE, DEFAULT_QUEUE, type FunctionSpec } from "@ferry/contracts";
import {
  DEFAULT_CONSUMER_SETTINGS,
  openEndpointTable,
  provisionQueueConsumer,
  type ConsumerSettings,
  type EndpointLease,
  type EndpointTable,
  type FunctionRegistry,
  type NatsConnection,
} from "@ferry/jetstream";
import { createRegistry } from "@ferry/runtime";
import { startQueueLoop, type QueueLoop } from "./consumer.js";
import { Dispatch } from "./dispatch.js";
import { createWorkerMetrics } from "./metrics.js";
import { OutcomeRecorder } from "./outcome.js";

/** Options of {@link createQueueWorker}. */
export interface QueueWorkerOptions {
  nc: NatsConnection;
  /** Redis for call status and results. */
  redis: Redis;
  /** Redis connection for the BullMQ callback queue (may be the same server). */
  bullRedis: Redis;
  registry: FunctionRegistry;
  logger: Logger;
  /** Queues to serve; `undefined` serves every queue a registered function names. */
  queues?: string[];
  /** Calls run at once, per queue. */
  maxInflight?: number;
  /** Consumer settings (AckWait, MaxDeliver, MaxAckPending). */
  consumer?: ConsumerSettings;
  /** Seconds call status and results are kept. Default one day. */
  statusTtlSeconds?: number;
  /** Largest result stored for lookup, bytes. Default 1 MiB. */
  maxStoredResultBytes?: number;
  /** Where a function is served now, before the provider's replicas. Default: none. */
  resolveEndpoint?: (spec: FunctionSpec) => string | undefined;
  /** Ready replicas the provider publishes; opened (and closed) by the worker when absent. */
  endpoints?: EndpointTable;
  /** Longest wait for a replica of a function scaled to zero. Default 30 s. */
  scaleFromZeroWaitMs?: number;
  metricsRegistry?: Registry;
  /** Names this worker in call records. Default host name and pid. */
  workerId?: string;
}

/** A running queue-worker. */
export interface QueueWorker {
  /** Queues being consumed now. */
  queues(): string[];
  /** Stops pulling, lets running calls finish up to `deadlineMs`, hands back the rest. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Starts consuming; with no fixed queue list, new queues are picked up as functions appear. */
export async function createQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const logger = opts.logger.child({ component: "queue-worker" });
  const consumer = opts.consumer ?? DEFAULT_CONSUMER_SETTINGS;
  const jsm = await jetstreamManager(opts.nc);
  const callbacks = new Queue(CALLBACK_QUEUE, { connection: opts.bullRedis });
  const dispatch = new Dispatch();
  const endpoints =
    opts.endpoints ?? (await openEndpointTable(opts.nc, { logger, kind: "worker" }));
  const deps = {
    js: jetstream(opts.nc),
    registry: opts.registry,
    dispatch,
    recorder: new OutcomeRecorder(opts.redis, callbacks, {
      ttlSeconds: opts.statusTtlSeconds ?? 86_400,
      maxStoredResultBytes: opts.maxStoredResultBytes ?? 1024 * 1024,
      callbackAttempts: 5,
      callbackBackoffMs: 1_000,
      workerId: opts.workerId ?? `${hostname()}:${process.pid}`,
    }),
    metrics: createWorkerMetrics(opts.metricsRegistry ?? createRegistry()),
    logger,
    acquireEndpoint: endpointSource(opts, endpoints),
    maxInflight: opts.maxInflight ?? 100,
    ackWaitMs: consumer.ackWaitMs,
    maxDeliver: consumer.maxDeliver,
  };

  const loops = new Map<string, Promise<QueueLoop>>();
  const serve = (queue: string): void => {
    if (loops.has(queue)) return;
    const started = provisionQueueConsumer(jsm, queue, consumer).then(() =>
      startQueueLoop(queue, deps),
    );
    started.catch((err: unknown) => {
      logger.error({ err, queue }, "cannot consume queue");
      loops.delete(queue);
    });
    loops.set(queue, started);
  };
  const wanted = (): string[] =>
    opts.queues ?? [DEFAULT_QUEUE, ...opts.registry.list().map((f) => f.queue)];
  wanted().forEach(serve);
  const unsubscribe = opts.queues
    ? () => {}
    : opts.registry.onChange((_name, spec) => spec && serve(spec.queue));
  await Promise.all(loops.values());

  return {
    queues: () => [...loops.keys()],
    async stop(deadlineMs = 30_000) {
      unsubscribe();
      const all = await Promise.allSettled(loops.values());
      await Promise.all(
        all.map((r) => (r.status === "fulfilled" ? r.value.stop(deadlineMs) : undefined)),
      );
      await callbacks.close();
      await dispatch.close();
      if (!opts.endpoints) await endpoints.close();
    },
  };
}

/** A fixed endpoint first, then a provider replica (started on demand), then the spec's `url`. */
function endpointSource(
  opts: QueueWorkerOptions,
  endpoints: EndpointTable,
): (spec: FunctionSpec, signal: AbortSignal) => Promise<EndpointLease | undefined> {
  const fixed = (url: string | undefined): EndpointLease | undefined =>
    url ? { url, release: () => {} } : undefined;
  return async (spec, signal) => {
    const given = fixed(opts.resolveEndpoint?.(spec));
    if (given) return given;
    if (!spec.watchdog) return fixed(spec.url);
    const waitMs = Math.min(opts.scaleFromZeroWaitMs ?? 30_000, spec.timeout);
    return endpoints.acquire(spec.name, { waitMs, signal });
  };
}
