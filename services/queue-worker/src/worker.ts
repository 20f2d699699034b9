import { hostname } from "node:os";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
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
  provisionQueueConsumer,
  type ConsumerSettings,
  type FunctionRegistry,
  type NatsConnection,
} from "@ferry/jetstream";
import { createRegistry } from "@ferry/runtime";
import { deleteBodyWhenFinal } from "./body.js";
import { startQueueLoop, type QueueLoop } from "./consumer.js";
import { destinationsHook } from "./destinations.js";
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
  /** Where a function is served now. Default: the spec's `url`. */
  resolveEndpoint?: (spec: FunctionSpec) => string | undefined;
  metricsRegistry?: Registry;
  /** Names this worker in call records. Default host name and pid. */
  workerId?: string;
  /** Largest result chained inline to a destination; larger ones go to the object store. */
  maxInlineBytes?: number;
  /** Replicas of the claim-check bucket. Default 1. */
  replicas?: number;
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
  const js = jetstream(opts.nc);
  const bodies = await openBodyStore(opts.nc, { replicas: opts.replicas ?? 1 });
  const deps = {
    js,
    bodies,
    registry: opts.registry,
    dispatch,
    recorder: new OutcomeRecorder(opts.redis, callbacks, {
      ttlSeconds: opts.statusTtlSeconds ?? 86_400,
      maxStoredResultBytes: opts.maxStoredResultBytes ?? 1024 * 1024,
      callbackAttempts: CALLBACK_JOB_ATTEMPTS,
      callbackBackoffMs: 1_000,
      workerId: opts.workerId ?? `${hostname()}:${process.pid}`,
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
    metrics: createWorkerMetrics(opts.metricsRegistry ?? createRegistry()),
    logger,
    resolveEndpoint: opts.resolveEndpoint ?? ((spec: FunctionSpec) => spec.url),
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
    },
  };
}
