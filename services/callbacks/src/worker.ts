import { Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Counter, Histogram, type Registry } from "prom-client";
import {
  CALLBACK_QUEUE,
  CallbackState,
  callKey,
  timelineKey,
  type CallbackJob,
  type TimelineEntry,
} from "@ferry/contracts";
import { DURATION_BUCKETS, createRegistry, type AddressPolicy } from "@ferry/runtime";
import { SpanKind, extractTrace, traceIdOf, withSpan } from "@ferry/runtime";
import { CallbackSender } from "./deliver.js";
import { DEFAULT_RETRY_POLICY, backoffDelay, type RetryPolicy } from "./retry.js";
import { createSigner } from "./signing.js";

/** Options of {@link createCallbackWorker}. */
export interface CallbackWorkerOptions {
  /** Redis for BullMQ (needs `maxRetriesPerRequest: null`). */
  bullRedis: Redis;
  /** Redis for call status. */
  redis: Redis;
  logger: Logger;
  /** Deliveries in flight at once. Default 50. */
  concurrency?: number;
  /** Timeout of one delivery attempt. Default 10 s. */
  timeoutMs?: number;
  /** Attempts and backoff. Default 10 attempts over about an hour. */
  retry?: RetryPolicy;
  /** `whsec_` secrets; each attempt carries one signature per secret. None: unsigned. */
  signingSecrets?: readonly string[];
  /** Which addresses callbacks may reach. Default: public addresses only. */
  addressPolicy?: AddressPolicy;
  metricsRegistry?: Registry;
}

/** A running callback worker. */
export interface CallbackWorker {
  /** Finishes deliveries in flight, then stops. */
  stop(): Promise<void>;
}

/**
 * Writes delivery state into a call's status, only while the status exists: a delivery that
 * outlives the status TTL must not leave a record without one. The same script appends the
 * attempt to the call's timeline (the dashboard), living as long as the status.
 */
const CALLBACK_STATE_SCRIPT = `
local ttl = redis.call('TTL', KEYS[1])
if ttl == -2 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end
return redis.call('HSET', KEYS[1], unpack(ARGV, 2))`;

function recorder(
  redis: Redis,
): (
  callId: string,
  fields: Record<string, string | number>,
  entry: TimelineEntry,
) => Promise<unknown> {
  if (!("ferryCallbackState" in redis)) {
    redis.defineCommand("ferryCallbackState", { numberOfKeys: 2, lua: CALLBACK_STATE_SCRIPT });
  }
  const r = redis as Redis & {
    ferryCallbackState(key: string, timeline: string, ...a: string[]): Promise<number>;
  };
  return (callId, fields, entry) =>
    r.ferryCallbackState(
      callKey(callId),
      timelineKey(callId),
      JSON.stringify(entry),
      ...Object.entries(fields).flat().map(String),
    );
}

/** Consumes `ferry-callbacks` and delivers each result; the call's status records the outcome. */
export function createCallbackWorker(opts: CallbackWorkerOptions): CallbackWorker {
  const log = opts.logger.child({ component: "callbacks" });
  const retry = opts.retry ?? DEFAULT_RETRY_POLICY;
  const sender = new CallbackSender({
    timeoutMs: opts.timeoutMs ?? 10_000,
    retry,
    signer: createSigner(opts.signingSecrets ?? []),
    ...(opts.addressPolicy ? { policy: opts.addressPolicy } : {}),
  });
  const registers = [opts.metricsRegistry ?? createRegistry()];
  const deliveries = new Counter({
    name: "callback_deliveries_total",
    help: "Callback delivery attempts, by outcome",
    labelNames: ["outcome"],
    registers,
  });
  const attemptSeconds = new Histogram({
    name: "callback_attempt_seconds",
    help: "Time one callback attempt took, whatever its outcome",
    buckets: DURATION_BUCKETS,
    registers,
  });
  const record = recorder(opts.redis);

  const worker = new Worker<CallbackJob>(
    CALLBACK_QUEUE,
    async (job: Job<CallbackJob>) => {
      const attempt = job.attemptsMade + 1;
      const timer = attemptSeconds.startTimer();
      const span = {
        parent: extractTrace(job.data),
        kind: SpanKind.CLIENT,
        attributes: { "ferry.call_id": job.data.callId, "ferry.callback_attempt": attempt },
      };
      const status = await withSpan("callback delivery", span, () =>
        sender.send(job.data, attempt),
      ).finally(() => timer());
      await record(
        job.data.callId,
        { callbackState: CallbackState.Delivered, callbackAttempts: attempt },
        { t: Date.now(), e: "callback", n: attempt, status: "delivered", code: status },
      );
      deliveries.inc({ outcome: "delivered" });
      // Deliveries are the bulk of the traffic: logged at debug, as the worker logs successes.
      if (log.isLevelEnabled("debug")) {
        log.debug({ ...logFields(job.data), attempt, status }, "callback delivered");
      }
    },
    {
      connection: opts.bullRedis,
      concurrency: opts.concurrency ?? 50,
      settings: {
        // Retry-After wins over the schedule, within the longest wait the policy allows.
        backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => {
          const asked = (err as { retryAfterMs?: number } | undefined)?.retryAfterMs;
          if (asked !== undefined) return Math.min(asked, retry.maxDelayMs);
          return backoffDelay(attemptsMade, retry);
        },
      },
    },
  );
  worker.on("failed", (job, err) => {
    if (!job) return;
    const attempts = job.attemptsMade;
    const final = err.name === "UnrecoverableError" || attempts >= (job.opts.attempts ?? 1);
    deliveries.inc({ outcome: final ? "failed" : "retry" });
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
      await sender.close();
    },
  };
}

function logFields(job: CallbackJob): Record<string, unknown> {
  return { callId: job.callId, function: job.function, traceId: traceIdOf(job.traceparent) };
}
