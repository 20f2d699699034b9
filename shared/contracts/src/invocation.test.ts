import { describe, expect, test } from "vitest";
import {
  EnvelopeError,
  decodeInvocation,
  encodeInvocation,
  startTimeNanos,
  type Invocation,
} from "./invocation.js";

const inv: Invocation = {
  callId: "c-1",
  function: "echo",
  queue: "default",
  method: "POST",
  path: "/a/b",
  query: "x=1&y=2",
  callbackUrl: "https://example.com/cb",
  enqueuedAt: 1_700_000_000_000,
  enqueuedAtUs: 1_700_000_000_000_123,
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  headers: { "content-type": "application/json", "x-custom": "v" },
};

describe("invocation envelope", () => {
  test("envelope - encode then decode gives the same invocation", () => {
    expect(decodeInvocation(encodeInvocation(inv))).toEqual(inv);
  });

  test("envelope - optional fields stay absent", () => {
    const { callbackUrl: _c, traceparent: _t, enqueuedAtUs: _u, ...bare } = inv;
    expect(decodeInvocation(encodeInvocation(bare))).toEqual(bare);
  });

  test("envelope - a claim check (body reference and size) round-trips", () => {
    const claimed = { ...inv, bodyRef: "c-1", bodySize: 20 * 1024 * 1024 };
    expect(decodeInvocation(encodeInvocation(claimed))).toEqual(claimed);
  });

  test("envelope - a header value with CR or LF is refused", () => {
    expect(() => encodeInvocation({ ...inv, headers: { "x-evil": "a\r\nb: c" } })).toThrow(
      EnvelopeError,
    );
  });

  test("envelope - missing or bad fields give an EnvelopeError naming the field", () => {
    expect(() => decodeInvocation([["Ferry-Call-Id", "c-1"]])).toThrow(/function/);
    const pairs = encodeInvocation(inv).map(([k, v]): [string, string] =>
      k === "Ferry-Method" ? [k, "post me"] : [k, v],
    );
    expect(() => decodeInvocation(pairs)).toThrow(/method/);
  });

  test("envelope - delay, parked attempts and redrives survive encode and decode", () => {
    const held = { ...inv, notBefore: 1_700_000_060_000, attemptsBefore: 3, redrives: 1 };
    expect(decodeInvocation(encodeInvocation(held))).toEqual(held);
  });

  test("X-Start-Time - Unix nanoseconds, to the microsecond when the gateway gave it", () => {
    expect(startTimeNanos(inv.enqueuedAt, inv.enqueuedAtUs)).toBe("1700000000000123000");
    // From a gateway that stamped milliseconds only.
    expect(startTimeNanos(inv.enqueuedAt)).toBe("1700000000000000000");
  });
});
