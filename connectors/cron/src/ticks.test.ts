import { describe, expect, test } from "vitest";
import { Schedule } from "./config.js";
import { ticksBetween, ticksOf } from "./ticks.js";

const at = (iso: string): number => Date.parse(iso);
const iso = (t: number | undefined): string => new Date(t ?? NaN).toISOString();
const schedule = (s: Record<string, unknown>) => Schedule.parse({ topic: "t", ...s });

describe("cron ticks", () => {
  test("ticks - 5 fields read in the time zone, 6 fields with seconds, @hourly", () => {
    const berlin = ticksOf(schedule({ cron: "0 9 * * *", timezone: "Europe/Berlin" }));
    expect(iso(berlin.next(at("2026-01-10T00:00:00Z")))).toBe("2026-01-10T08:00:00.000Z");
    expect(iso(berlin.next(at("2026-07-10T00:00:00Z")))).toBe("2026-07-10T07:00:00.000Z");
    const seconds = ticksOf(schedule({ cron: "*/15 * * * * *" }));
    expect(iso(seconds.next(at("2026-01-10T00:00:01Z")))).toBe("2026-01-10T00:00:15.000Z");
    const hourly = ticksOf(schedule({ cron: "@hourly" }));
    expect(iso(hourly.next(at("2026-01-10T05:59:59Z")))).toBe("2026-01-10T06:00:00.000Z");
  });

  test("ticks - a local 02:30 job runs once on both DST change days", () => {
    const t = ticksOf(schedule({ cron: "30 2 * * *", timezone: "Europe/Berlin" }));
    const autumn = ticksBetween(t, at("2026-10-24T12:00:00Z"), at("2026-10-27T12:00:00Z"), 100);
    expect(autumn.filter((x) => iso(x).startsWith("2026-10-25"))).toHaveLength(1);
    // 02:30 does not exist on 29 March: croner fires at the end of the gap, 03:00 CEST.
    const spring = ticksBetween(t, at("2026-03-28T12:00:00Z"), at("2026-03-30T12:00:00Z"), 100);
    expect(spring.map(iso)).toEqual(["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"]);
  });

  test("ticks - intervals are aligned to the epoch, so every replica computes the same ticks", () => {
    const t = ticksOf(schedule({ every: "30s" }));
    expect(iso(t.next(at("2026-01-10T00:00:07Z")))).toBe("2026-01-10T00:00:30.000Z");
    expect(iso(t.next(at("2026-01-10T00:00:30Z")))).toBe("2026-01-10T00:01:00.000Z");
  });

  test("ticks - missed ticks between two times keep the last `max`", () => {
    const t = ticksOf(schedule({ every: "1m" }));
    const missed = ticksBetween(t, at("2026-01-10T00:00:00Z"), at("2026-01-10T00:10:00Z"), 3);
    expect(missed.map(iso)).toEqual([
      "2026-01-10T00:08:00.000Z",
      "2026-01-10T00:09:00.000Z",
      "2026-01-10T00:10:00.000Z",
    ]);
  });
});
