import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { CallbackJob, Invocation } from "@ferry/contracts";
import {
  CallbackDelivery,
  RefusedCallbackError,
  type Callback,
  type DeliveryOptions,
} from "@ferry/callbacks";
import type { FinalOutcome } from "./outcome.js";

/** Options of {@link FirstCallback}. */
export interface FirstCallbackOptions extends DeliveryOptions {
  /**
   * Timeout of the worker's attempt, shorter than the callbacks service's (`timeoutMs`): a
   * receiver slower than this is left to the service, so that it holds no worker slot. Default 2 s.
   */
  firstTimeoutMs?: number;
  /** How long a receiver whose attempt failed gets its callbacks through the service only. */
  cooldownMs?: number;
  metricsRegistry?: Registry;
  logger: Logger;
}

/** What the worker's attempt came to. */
export type FirstAttempt =
  | { kind: "delivered"; status: number }
  | {
      /** Left to the callbacks service: a job is queued with these fields and this delay. */
      kind: "queued";
      job: Pick<CallbackJob, "attemptsBefore" | "failedBefore">;
      delayMs: number;
      /** Why the attempt failed; absent when none was made (the receiver is cooling down). */
      error?: string;
      /** The receiver's status, when it answered. */
      statusCode?: number;
    };

/** Receivers remembered as failing at once; the oldest are forgotten beyond this. */
const MAX_COOLING = 10_000;

/**
 * The first delivery attempt of a callback, made by the worker that ran the call as soon as its
 * outcome is stored: the common case then costs no queue job at all. Any failure leaves the
 * callback to the callbacks service (a job, queued before the call is acked), which makes the
 * later attempts, or lists the failure when the attempt ended delivery for good. A receiver that
 * failed is skipped for a while, so that a slow or absent receiver cannot hold worker slots.
 */
export class FirstCallback {
  readonly #delivery: CallbackDelivery;
  readonly #cooldownMs: number;
  readonly #cooling = new Map<string, number>();
  readonly #log: Logger;

  constructor(opts: FirstCallbackOptions) {
    this.#delivery = new CallbackDelivery({
      ...opts,
      timeoutMs: Math.min(opts.firstTimeoutMs ?? 2_000, opts.timeoutMs ?? 10_000),
    });
    this.#cooldownMs = opts.cooldownMs ?? 30_000;
    this.#log = opts.logger.child({ component: "first-callback" });
  }

  /** Attempts the callback of `inv` with `out`; never throws. */
  async attempt(inv: Invocation, out: FinalOutcome): Promise<FirstAttempt> {
    const cb = callbackOf(inv, out);
    const origin = originOf(cb.url);
    const until = this.#cooling.get(origin);
    if (until !== undefined) {
      if (until > Date.now()) return { kind: "queued", job: {}, delayMs: 0 };
      this.#cooling.delete(origin);
    }
    const result = await this.#delivery.attempt(cb, 1);
    if (result.ok) {
      this.#delivery.count("delivered");
      return { kind: "delivered", status: result.status };
    }
    const error = result.error.message;
    // The service's own address policy decides: a worker configured apart from it must not fail
    // callbacks that the service would deliver.
    if (result.error instanceof RefusedCallbackError)
      return { kind: "queued", job: {}, delayMs: 0 };
    if (result.final) {
      // Counted as failed by the service, which fails the job at once.
      return { kind: "queued", job: { attemptsBefore: 1, failedBefore: error }, delayMs: 0, error };
    }
    this.#delivery.count("retry");
    this.#cool(origin, error);
    // Too slow for the worker is not a failure of the receiver: the service tries at once.
    const delayMs = timedOut(result.error) ? 0 : this.#delivery.waitAfter(1, result.retryAfterMs);
    const code = result.statusCode !== undefined ? { statusCode: result.statusCode } : {};
    return { kind: "queued", job: { attemptsBefore: 1 }, delayMs, error, ...code };
  }

  #cool(origin: string, error: string): void {
    if (!this.#cooling.has(origin)) {
      this.#log.info(
        { origin, err: error, forMs: this.#cooldownMs },
        "callback receiver failed; its callbacks go through the callbacks service for a while",
      );
    }
    this.#cooling.delete(origin);
    this.#cooling.set(origin, Date.now() + this.#cooldownMs);
    if (this.#cooling.size > MAX_COOLING) {
      const oldest = this.#cooling.keys().next().value;
      if (oldest !== undefined) this.#cooling.delete(oldest);
    }
  }

  close(): Promise<void> {
    return this.#delivery.close();
  }
}

/** The callback of a call's final outcome (also the body of its job, base64). */
export function callbackOf(inv: Invocation, out: FinalOutcome): Callback {
  return {
    callId: inv.callId,
    function: inv.function,
    url: inv.callbackUrl ?? "",
    statusCode: out.statusCode,
    durationSeconds: out.durationMs / 1000,
    startTime: inv.enqueuedAt,
    ...(inv.enqueuedAtUs !== undefined ? { startTimeUs: inv.enqueuedAtUs } : {}),
    body: out.body,
    ...(out.contentType ? { contentType: out.contentType } : {}),
    ...(inv.traceparent ? { traceparent: inv.traceparent } : {}),
    attempt: out.attempts,
    ...(out.maxAttempts !== undefined ? { maxAttempts: out.maxAttempts } : {}),
  };
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function timedOut(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: string }).code;
    if (e.name === "TimeoutError" || code === "UND_ERR_CONNECT_TIMEOUT") return true;
  }
  return false;
}
