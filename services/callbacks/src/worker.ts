import { UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { CALLBACK_QUEUE, CallbackState, type CallbackJob } from "@ferry/contracts";
import { extractTrace, traceIdOf } from "@ferry/runtime";
import { callbackOf, type DeliveryOptions } from "./deliver.js";
import { CallbackDelivery, callbackStateRecorder } from "./delivery.js";

/** Options of {@link createCallbackWorker}. */
export interface CallbackWorkerOptions extends DeliveryOptions {
  /** Redis for BullMQ (needs `maxRetriesPerRequest: null`). */
  bullRedis: Redis;
  /** Redis for call status. */
  redis: Redis;
  logger: Logger;
  /** Deliveries in flight at once. Default 50. */
  concurrency?: number;
  metricsRegistry?: Registry;
}

/** A running callback worker. */
export interface CallbackWorker {
  /** Finishes deliveries in flight, then stops. */
  stop(): Promise<void>;
}

/** Attempts made before the job was queued (by the queue-worker). */
function before(job: Job<CallbackJob> | { data: CallbackJob } | undefined): number {
  return job?.data.attemptsBefore ?? 0;
}

/** Consumes `ferry-callbacks` and delivers each result; the call's status records the outcome. */
export function createCallbackWorker(opts: CallbackWorkerOptions): CallbackWorker {
  const log = opts.logger.child({ component: "callbacks" });
  const delivery = new CallbackDelivery(opts);
  const record = callbackStateRecorder(opts.redis);

  const worker = new Worker<CallbackJob>(
    CALLBACK_QUEUE,
    async (job: Job<CallbackJob>) => {
      // The queue-worker's attempt ended delivery for good: failed at once, to be listed.
      if (job.data.failedBefore) throw new UnrecoverableError(job.data.failedBefore);
      const attempt = job.attemptsMade + 1 + before(job);
      const result = await delivery.attempt(callbackOf(job.data), attempt, extractTrace(job.data));
      if (!result.ok) throw result.error;
      await record(
        job.data.callId,
        { callbackState: CallbackState.Delivered, callbackAttempts: attempt },
        { t: Date.now(), e: "callback", n: attempt, status: "delivered", code: result.status },
      );
      delivery.count("delivered");
      // Deliveries are the bulk of the traffic: logged at debug, as the worker logs successes.
      if (log.isLevelEnabled("debug")) {
        log.debug({ ...logFields(job.data), attempt, status: result.status }, "callback delivered");
      }
    },
    {
      connection: opts.bullRedis,
      concurrency: opts.concurrency ?? 50,
      settings: {
        // Retry-After wins over the schedule, within the longest wait the policy allows.
        backoffStrategy: (attemptsMade: number, _type?: string, err?: Error, job?) => {
          const asked = (err as { retryAfterMs?: number } | undefined)?.retryAfterMs;
          return delivery.waitAfter(attemptsMade + before(job as Job<CallbackJob>), asked);
        },
      },
    },
  );
  worker.on("failed", (job, err) => {
    if (!job) return;
    // A job failed at once for the queue-worker's attempt made no attempt of its own.
    const attempts = before(job) + (job.data.failedBefore ? 0 : job.attemptsMade);
    const final = err.name === "UnrecoverableError" || attempts >= (job.opts.attempts ?? 1);
    delivery.count(final ? "failed" : "retry");
    const ctx = { ...logFields(job.data), attempt: attempts };
    if (final) log.warn({ ...ctx, err: err.message }, "callback delivery failed for good");
    else log.info({ ...ctx, err: err.message }, "callback delivery failed, will retry");
    const code = (err as { statusCode?: unknown }).statusCode;
    void record(
      job.data.callId,
      {
        callbackState: final ? CallbackState.Failed : CallbackState.Pending,
        callbackAttempts: attempts,
        callbackError: err.message,
      },
      {
        t: Date.now(),
        e: "callback",
        n: attempts,
        status: final ? "failed" : "retry",
        ...(typeof code === "number" ? { code } : {}),
        error: err.message.slice(0, 500),
      },
    ).catch(() => {});
  });
  worker.on("error", (err) => log.error({ err }, "callback worker error"));

  return {
    async stop() {
      await worker.close();
      await delivery.close();
    },
  };
}

function logFields(job: CallbackJob): Record<string, unknown> {
  return { callId: job.callId, function: job.function, traceId: traceIdOf(job.traceparent) };
}
