/** Where a call is in its life. */
export const CallStatus = {
  Queued: "queued",
  Running: "running",
  Succeeded: "succeeded",
  Failed: "failed",
  DeadLettered: "dead-lettered",
  Cancelled: "cancelled",
} as const;
export type CallStatus = (typeof CallStatus)[keyof typeof CallStatus];

/** Final states: nothing more happens to the call but its callback. */
export const FINAL_STATUSES: ReadonlySet<CallStatus> = new Set([
  CallStatus.Succeeded,
  CallStatus.Failed,
  CallStatus.DeadLettered,
  CallStatus.Cancelled,
]);

/** Where a call's callback delivery is. */
export const CallbackState = {
  None: "none",
  Pending: "pending",
  Delivered: "delivered",
  Failed: "failed",
} as const;
export type CallbackState = (typeof CallbackState)[keyof typeof CallbackState];

/** Redis key of a call's status hash. */
export function callKey(callId: string): string {
  return `ferry:call:${callId}`;
}

/** Redis key of a call's stored result body. */
export function resultKey(callId: string): string {
  return `ferry:result:${callId}`;
}

/** Redis key marking a call as cancelled (read by workers before they run it). */
export function cancelKey(callId: string): string {
  return `ferry:cancel:${callId}`;
}

/** Redis key remembering the call id first queued for an `Idempotency-Key` of a function. */
export function idempotencyKey(fn: string, key: string): string {
  return `ferry:idem:${fn}:${key}`;
}

/** The payload of one callback job in the `ferry-callbacks` queue. */
export interface CallbackJob {
  callId: string;
  function: string;
  url: string;
  /** The function's HTTP status, sent as `X-Function-Status`. */
  statusCode: number;
  /** Seconds the function ran, sent as `X-Duration-Seconds`. */
  durationSeconds: number;
  /** When the gateway accepted the call (ms since the epoch), sent as `X-Start-Time` (seconds). */
  startTime: number;
  /** The same instant in microseconds, when the gateway gave it: `X-Start-Time`'s precision. */
  startTimeUs?: number;
  contentType?: string;
  /** The response body, base64. */
  body: string;
  traceparent?: string;
  /** The call's attempt that produced this result, sent as `X-Ferry-Attempt`. */
  attempt?: number;
  /** The most attempts the call could have had, sent as `X-Ferry-Max-Attempts`. */
  maxAttempts?: number;
  /** Delivery attempts made before the job was queued (the queue-worker's first attempt). */
  attemptsBefore?: number;
  /**
   * Why the attempt before the job ended delivery for good (a 410, a blocked address…): the job
   * then fails at once, without sending, so that the failure is listed and can be retried.
   */
  failedBefore?: string;
}

/**
 * BullMQ backoff type of callback jobs: the callbacks service computes the waits and decides
 * when to stop, so producers set this type and {@link CALLBACK_JOB_ATTEMPTS} as a ceiling only.
 */
export const CALLBACK_BACKOFF_TYPE = "ferry";

/** Attempts ceiling of a callback job; the callbacks service's retry policy ends delivery sooner. */
export const CALLBACK_JOB_ATTEMPTS = 100;
