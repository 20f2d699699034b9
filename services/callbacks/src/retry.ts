/** How often and how patiently a callback is retried. */
export interface RetryPolicy {
  /** Delivery attempts in all, the first included. */
  attempts: number;
  /** Wait before the second attempt; doubles each time. */
  baseDelayMs: number;
  /** Longest wait between two attempts (also caps `Retry-After`). */
  maxDelayMs: number;
}

/**
 * Ten attempts over about an hour: waits of 10 s, 20 s, 40 s … capped at 15 min, so roughly
 * 10+20+40+80+160+320+640+900+900 s ≈ 51 min of retrying, less or more by the jitter.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 10,
  baseDelayMs: 10_000,
  maxDelayMs: 15 * 60_000,
};

/**
 * Wait after failed attempt `attempt` (1-based): exponential, with "equal jitter" (half fixed,
 * half random) so that receivers coming back up are not hit by every retry at the same instant.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** A delivery attempt failed in a way worth retrying; `retryAfterMs` is the receiver's wish. */
export class RetryableDeliveryError extends Error {
  override name = "DeliveryError";
  readonly code = "FERRY_ERR_CALLBACK_FAILED";
  /** The receiver's status, when it answered. */
  readonly statusCode: number | undefined;
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: ErrorOptions & { statusCode?: number },
  ) {
    super(message, options);
    this.statusCode = options?.statusCode;
  }
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Statuses after which a later attempt may succeed (RFC 9110 and common practice). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
