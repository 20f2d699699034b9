import { describe, expect, test } from "vitest";
import { backoffMs, isRetryable, parseRetryAfter, resolvePolicy, retryWaitMs } from "./retry.js";
import { DEFAULT_RETRY } from "./worker.js";

const policy = { ...DEFAULT_RETRY, minWait: 100, maxWait: 1_000, jitter: "none" as const };
const response = (statusCode: number, internal = false) =>
  ({
    kind: "response",
    statusCode,
    contentType: undefined,
    body: Buffer.alloc(0),
    internal,
    durationMs: 1,
  }) as const;

describe("retry policy", () => {
  test("backoff - exponential doubles from minWait and stops at maxWait", () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffMs(policy, a, "c"))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(backoffMs({ ...policy, backoff: "fixed" }, 5, "c")).toBe(100);
  });

  test("backoff - full jitter stays in [0, wait], equal jitter in [wait/2, wait], and repeats for the same call", () => {
    for (let a = 1; a <= 6; a++) {
      const full = backoffMs({ ...policy, jitter: "full" }, a, `id-${a}`);
      const equal = backoffMs({ ...policy, jitter: "equal" }, a, `id-${a}`);
      const wait = backoffMs(policy, a, `id-${a}`);
      expect(full).toBeGreaterThanOrEqual(0);
      expect(full).toBeLessThanOrEqual(wait);
      expect(equal).toBeGreaterThanOrEqual(wait / 2);
      expect(equal).toBeLessThanOrEqual(wait);
      expect(backoffMs({ ...policy, jitter: "full" }, a, `id-${a}`)).toBe(full);
    }
  });

  test("Retry-After - seconds and HTTP dates; bad values are ignored; a longer ask wins", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3_000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5_000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(retryWaitMs(policy, 1, "c", 5_000)).toBe(5_000);
    expect(retryWaitMs(policy, 1, "c", 10)).toBe(100);
  });

  test("retryable - configured codes, connection errors and watchdog errors; not 4xx", () => {
    expect(isRetryable(response(503), policy)).toBe(true);
    expect(isRetryable(response(400), policy)).toBe(false);
    expect(isRetryable(response(400, true), policy)).toBe(true);
    expect(isRetryable(response(200), policy)).toBe(false);
    expect(isRetryable({ kind: "unreachable", error: "x", durationMs: 0 }, policy)).toBe(true);
  });

  test("policy - a function's fields override the defaults one by one", () => {
    const spec = { retry: { attempts: 2 } } as Parameters<typeof resolvePolicy>[0];
    expect(resolvePolicy(spec, policy)).toEqual({ ...policy, attempts: 2 });
  });
});
