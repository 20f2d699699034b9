import type { Redis } from "ioredis";
import type { Counter, Histogram, Registry } from "prom-client";
import { callKey, timelineKey, type TimelineEntry } from "@ferry/contracts";
import {
  ScriptBatch,
  fieldArgs,
  SpanKind,
  createRegistry,
  sharedCounter,
  sharedHistogram,
  withSpan,
  type SpanOptions,
} from "@ferry/runtime";
import { CallbackSender, type Callback, type DeliveryOptions } from "./deliver.js";
import { RetryableDeliveryError, backoffDelay, type RetryPolicy } from "./retry.js";

/** What one delivery attempt came to. */
export type AttemptResult =
  | { ok: true; status: number }
  | {
      ok: false;
      error: Error;
      /** No later attempt can succeed (410, another 4xx, a blocked address, the last attempt). */
      final: boolean;
      /** The receiver's `Retry-After`, when it gave one. */
      retryAfterMs?: number;
      /** The receiver's status, when it answered. */
      statusCode?: number;
    };

/** Outcomes counted by `callback_deliveries_total`. */
export type DeliveryOutcome = "delivered" | "retry" | "failed";

/**
 * Makes delivery attempts, each traced and timed: the callbacks service for every attempt of a
 * queued job, the queue-worker for the first one. Both count into the same metrics.
 */
export class CallbackDelivery {
  readonly #sender: CallbackSender;
  readonly #deliveries: Counter<"outcome">;
  readonly #attemptSeconds: Histogram<never>;

  constructor(opts: DeliveryOptions & { metricsRegistry?: Registry }) {
    this.#sender = CallbackSender.of(opts);
    // The worker and the service share one registry in `ferry up`: registered once, found again.
    const registry = opts.metricsRegistry ?? createRegistry();
    this.#deliveries = sharedCounter(
      registry,
      "callback_deliveries_total",
      "Callback delivery attempts, by outcome",
      ["outcome"],
    );
    this.#attemptSeconds = sharedHistogram(
      registry,
      "callback_attempt_seconds",
      "Time one callback attempt took, whatever its outcome",
      [],
    );
  }

  /** The attempts and backoff deliveries work to. */
  get retry(): RetryPolicy {
    return this.#sender.retry;
  }

  /** Makes attempt `attempt` (1-based) of `cb` in a `callback delivery` span; never throws. */
  async attempt(
    cb: Callback,
    attempt: number,
    parent?: SpanOptions["parent"],
  ): Promise<AttemptResult> {
    const timer = this.#attemptSeconds.startTimer();
    const span: SpanOptions = {
      kind: SpanKind.CLIENT,
      attributes: { "ferry.call_id": cb.callId, "ferry.callback_attempt": attempt },
      ...(parent ? { parent } : {}),
    };
    try {
      const status = await withSpan("callback delivery", span, () =>
        this.#sender.send(cb, attempt),
      );
      return { ok: true, status };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const code = (error as { statusCode?: unknown }).statusCode;
      return {
        ok: false,
        error,
        final: !(error instanceof RetryableDeliveryError),
        ...(error instanceof RetryableDeliveryError && error.retryAfterMs !== undefined
          ? { retryAfterMs: error.retryAfterMs }
          : {}),
        ...(typeof code === "number" ? { statusCode: code } : {}),
      };
    } finally {
      timer();
    }
  }

  /** The wait after failed attempt `attempt`: the receiver's Retry-After, within the longest wait. */
  waitAfter(attempt: number, retryAfterMs?: number): number {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, this.retry.maxDelayMs);
    return backoffDelay(attempt, this.retry);
  }

  count(outcome: DeliveryOutcome): void {
    this.#deliveries.inc({ outcome });
  }

  close(): Promise<void> {
    return this.#sender.close();
  }
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

/** Records delivery state: status fields and a timeline entry, in one round trip. */
export type CallbackStateRecorder = (
  callId: string,
  fields: Record<string, string | number>,
  entry: TimelineEntry,
) => Promise<unknown>;

/**
 * A {@link CallbackStateRecorder} on `redis`: the records of one event-loop turn (the worker's
 * first attempts, the service's deliveries) are written in one script call.
 */
export function callbackStateRecorder(redis: Redis): CallbackStateRecorder {
  const batch = new ScriptBatch(redis, "CallbackState", CALLBACK_STATE_SCRIPT);
  return (callId, fields, entry) =>
    batch.run(
      [callKey(callId), timelineKey(callId)],
      [JSON.stringify(entry), ...fieldArgs(fields)],
    );
}
