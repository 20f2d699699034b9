import { createHash } from "node:crypto";
import type { FunctionSpec, RetryPolicy } from "@ferry/contracts";
import type { DispatchResult } from "./dispatch.js";

/** A retry policy with every field filled in (the function's own, else the worker's defaults). */
export type ResolvedRetryPolicy = Required<RetryPolicy>;

/** Statuses retried when neither the function nor the worker configuration names others. */
export const DEFAULT_RETRY_CODES = [408, 429, 500, 502, 503, 504];

/** `Retry-After` values above this are capped, so that one answer cannot park a call for ever. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** The policy of `spec`, field by field over `defaults`. */
export function resolvePolicy(
  spec: FunctionSpec | undefined,
  defaults: ResolvedRetryPolicy,
): ResolvedRetryPolicy {
  const own = spec?.retry ?? {};
  return {
    attempts: own.attempts ?? defaults.attempts,
    backoff: own.backoff ?? defaults.backoff,
    jitter: own.jitter ?? defaults.jitter,
    minWait: own.minWait ?? defaults.minWait,
    maxWait: own.maxWait ?? defaults.maxWait,
    codes: own.codes ?? defaults.codes,
  };
}

/** Whether a dispatch result may succeed if tried again. */
export function isRetryable(result: DispatchResult, policy: ResolvedRetryPolicy): boolean {
  if (result.kind !== "response") return true;
  if (result.statusCode >= 200 && result.statusCode < 300) return false;
  return result.internal || policy.codes.includes(result.statusCode);
}

/**
 * The wait before attempt `attempt + 1`. The jitter is derived from the call id and the attempt,
 * not from `Math.random`, so that a worker that computes it twice (after a crash) parks the call
 * under the same id.
 */
export function backoffMs(policy: ResolvedRetryPolicy, attempt: number, callId: string): number {
  const base =
    policy.backoff === "fixed"
      ? policy.minWait
      : policy.minWait * 2 ** Math.min(Math.max(attempt - 1, 0), 40);
  const wait = Math.min(base, policy.maxWait);
  const r = unitRandom(`${callId}/${attempt}`);
  if (policy.jitter === "full") return Math.round(wait * r);
  if (policy.jitter === "equal") return Math.round(wait / 2 + (wait / 2) * r);
  return Math.round(wait);
}

/** Parses `Retry-After` (delay seconds or an HTTP date) into ms from `now`; undefined if absent or bad. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - now, 0), MAX_RETRY_AFTER_MS);
}

/** The wait before the next attempt: the backoff, or longer when the function asked for it. */
export function retryWaitMs(
  policy: ResolvedRetryPolicy,
  attempt: number,
  callId: string,
  retryAfterMs: number | undefined,
): number {
  const backoff = backoffMs(policy, attempt, callId);
  return retryAfterMs === undefined ? backoff : Math.max(backoff, retryAfterMs);
}

function unitRandom(seed: string): number {
  return createHash("sha256").update(seed).digest().readUInt32BE(0) / 0xffffffff;
}
