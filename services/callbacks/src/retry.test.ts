import { describe, expect, test } from "vitest";
import { DEFAULT_RETRY_POLICY, backoffDelay, isRetryableStatus, parseRetryAfter } from "./retry.js";

describe("retry policy", () => {
  test("backoff - doubles from the base, capped, with half of each wait random", () => {
    const policy = { attempts: 10, baseDelayMs: 1_000, maxDelayMs: 5_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 1))).toEqual([
      1_000, 2_000, 4_000, 5_000, 5_000,
    ]);
    expect([1, 2, 3].map((n) => backoffDelay(n, policy, () => 0))).toEqual([500, 1_000, 2_000]);
  });

  test("backoff - the default spreads 10 attempts over roughly an hour", () => {
    const waits = (r: number): number =>
      Array.from({ length: DEFAULT_RETRY_POLICY.attempts - 1 }, (_, i) =>
        backoffDelay(i + 1, DEFAULT_RETRY_POLICY, () => r),
      ).reduce((a, b) => a + b, 0);
    expect(waits(1) / 60_000).toBeCloseTo(51.2, 0);
    expect(waits(0) / 60_000).toBeGreaterThan(25);
  });

  test("Retry-After - seconds and HTTP dates, nothing for garbage", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7_000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  test("statuses - 408, 429 and 5xx are retried, other 4xx are not", () => {
    expect([408, 429, 500, 502, 503].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 404, 409, 410, 422].some(isRetryableStatus)).toBe(false);
  });
});
