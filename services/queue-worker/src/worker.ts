import { hostname } from "node:os";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import {
  CALLBACK_JOB_ATTEMPTS,
  CALLBACK_QUEUE,
  DEFAULT_QUEUE,
  type FunctionSpec,
} from "@ferry/contracts";
import {
  DEFAULT_CONSUMER_SETTINGS,
  openBodyStore,
  openEndpointTable,
  provisionQueueConsumer,
  type ConsumerSettings,
  type EndpointLease,
  type EndpointTable,
  type FunctionRegistry,
  type NatsConnection,
} from "@ferry/jetstream";
import { createRegistry } from "@ferry/runtime";
import { deleteBodyWhenFinal } from "./body.js";
import { CancelWatch } from "./cancel.js";
import { startQueueLoop, type QueueLoop, type QueueLoopDeps } from "./consumer.js";
import { destinationsHook } from "./destinations.js";
import { Dispatch } from "./dispatch.js";
import { FirstCallback, type FirstCallbackOptions } from "./first-callback.js";
import { FunctionLimiter } from "./limiter.js";
import { createWorkerMetrics } from "./metrics.js";
import { registerQueueAge } from "./queue-age.js";
import { OutcomeRecorder } from "./outcome.js";
import { Parking } from "./park.js";
import { DEFAULT_RETRY_CODES, type ResolvedRetryPolicy } from "./retry.js";

/** Options of {@link createQueueWorker}. */
export interface QueueWorkerOptions {
  nc: NatsConnection;
  /** Redis for call status, results, cancels and concurrency slots. */
  redis: Redis;
  /** Redis connection for the BullMQ callback and parking queues (may be the same server). */
  bullRedis: Redis;
  registry: FunctionRegistry;
  logger: Logger;
  /** Queues to serve; `undefined` serves every queue a registered function names. */
  queues?: string[];
  /** Calls run at once, per queue. */
  maxInflight?: number;
  /** Consumer settings (AckWait, MaxDeliver, MaxAckPending). */
  consumer?: ConsumerSettings;
  /** Retry policy for what a function's spec leaves out. */
  retry?: Partial<ResolvedRetryPolicy>;
  /** Waits longer than this are parked in Redis rather than NAKed with delay. Default 30 s. */
  parkAfterMs?: number;
  /** Life of a concurrency slot without renewal. Default 15 s. */
  slotTtlMs?: number;
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
  /** Largest result chained inline to a destination; larger ones go to the object store. */
  maxInlineBytes?: number;
  /** Replicas of the claim-check bucket. Default 1. */
  replicas?: number;
  /**
   * How callbacks are delivered (the callbacks service's settings): given, the worker makes
   * each callback's first attempt itself as soon as the outcome is stored, and queues a job for
   * the callbacks service only when that attempt fails. Absent: every attempt is queued.
   */
  firstCallback?: Omit<FirstCallbackOptions, "logger" | "metricsRegistry">;
}

/** A running queue-worker. */
export interface QueueWorker {
  /** Queues being consumed now. */
  queues(): string[];
  /** Stops pulling, lets running calls finish up to `deadlineMs`, hands back the rest. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Retry defaults when neither the options nor the function say otherwise. */
export const DEFAULT_RETRY: ResolvedRetryPolicy = {
  attempts: 5,
  backoff: "exponential",
  jitter: "full",
  minWait: 1_000,
  maxWait: 300_000,
  codes: DEFAULT_RETRY_CODES,
};

/** Starts consuming; with no fixed queue list, new queues are picked up as functions appear. */
export async function createQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const logger = opts.logger.child({ component: "queue-worker" });
  const consumer = opts.consumer ?? DEFAULT_CONSUMER_SETTINGS;
  const jsm = await jetstreamManager(opts.nc);
  const js = jetstream(opts.nc);
  const callbacks = new Queue(CALLBACK_QUEUE, { connection: opts.bullRedis });
  const ttlSeconds = opts.statusTtlSeconds ?? 86_400;
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}`;
  const parking = new Parking({ bullRedis: opts.bullRedis, js, logger, ttlSeconds });
  const cancels = new CancelWatch(opts.nc, logger);
  const dispatch = new Dispatch();
  const endpoints =
    opts.endpoints ?? (await openEndpointTable(opts.nc, { logger, kind: "worker" }));
  const bodies = await openBodyStore(opts.nc, { replicas: opts.replicas ?? 1 });
  const metricsRegistry = opts.metricsRegistry ?? createRegistry();
  const firstCallback = opts.firstCallback
    ? new FirstCallback({ ...opts.firstCallback, logger, metricsRegistry })
    : undefined;
  const deps: QueueLoopDeps = {
    js,
    bodies,
    registry: opts.registry,
    dispatch,
    recorder: new OutcomeRecorder(opts.redis, callbacks, {
      ttlSeconds,
      maxStoredResultBytes: opts.maxStoredResultBytes ?? 1024 * 1024,
      callbackAttempts: CALLBACK_JOB_ATTEMPTS,
      callbackBackoffMs: 1_000,
      workerId,
      firstCallback: firstCallback !== undefined,
      afterFinal: [
        destinationsHook({
          js,
          registry: opts.registry,
          logger,
          bodies,
          maxInlineBytes: opts.maxInlineBytes ?? 1024 * 1024 - 64 * 1024,
        }),
        deleteBodyWhenFinal(bodies, logger),
      ],
    }),
    firstCallback,
    metrics: createWorkerMetrics(metricsRegistry, subjectCounts(jsm)),
    parking,
    limiter: new FunctionLimiter(opts.redis, opts.slotTtlMs ?? 15_000),
    cancels,
    logger,
    acquireEndpoint: endpointSource(opts, endpoints),
    retryDefaults: { ...DEFAULT_RETRY, ...opts.retry },
    parkAfterMs: opts.parkAfterMs ?? 30_000,
    maxInflight: opts.maxInflight ?? 100,
    ackWaitMs: consumer.ackWaitMs,
    workerId,
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
  if (opts.metricsRegistry)
    registerQueueAge(opts.metricsRegistry, opts.nc, () => [...loops.keys()]);

  return {
    queues: () => [...loops.keys()],
    async stop(deadlineMs = 30_000) {
      unsubscribe();
      const all = await Promise.allSettled(loops.values());
      await Promise.all(
        all.map((r) => (r.status === "fulfilled" ? r.value.stop(deadlineMs) : undefined)),
      );
      cancels.close();
      await parking.close();
      await callbacks.close();
      await firstCallback?.close();
      await dispatch.close();
      if (!opts.endpoints) await endpoints.close();
    },
  };
}

function subjectCounts(jsm: JetStreamManager) {
  return async (stream: string): Promise<Record<string, number>> => {
    const info = await jsm.streams.info(stream, { subjects_filter: ">" });
    return info.state.subjects ?? {};
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
