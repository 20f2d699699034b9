import { describe, expect, test } from "vitest";
import { FerryError } from "@ferry/contracts";
import { notBeforeOf } from "./delay.js";

const now = Date.parse("2026-01-01T00:00:00Z");
const max = 3_600_000;

describe("delay headers", () => {
  test("delay - X-Delay in seconds or with a unit, X-Not-Before as a date or Unix seconds", () => {
    expect(notBeforeOf({ "x-delay": "30" }, max, now)).toBe(now + 30_000);
    expect(notBeforeOf({ "x-delay": "5m" }, max, now)).toBe(now + 300_000);
    expect(notBeforeOf({ "x-not-before": "2026-01-01T00:10:00Z" }, max, now)).toBe(now + 600_000);
    expect(notBeforeOf({ "x-not-before": String(now / 1000 + 60) }, max, now)).toBe(now + 60_000);
    expect(notBeforeOf({}, max, now)).toBeUndefined();
    expect(notBeforeOf({ "x-not-before": "2025-01-01T00:00:00Z" }, max, now)).toBeUndefined();
  });

  test("delay - malformed, doubled or too long delays are a 400", () => {
    for (const headers of [
      { "x-delay": "soon" },
      { "x-delay": "2h" },
      { "x-delay": "1", "x-not-before": "2026-01-01T00:10:00Z" },
      { "x-not-before": "tomorrow" },
    ]) {
      expect(() => notBeforeOf(headers, max, now)).toThrow(FerryError);
    }
  });
});
