import { describe, expect, test } from "vitest";
import { desiredReplicas, type ScaleInput } from "../src/index.js";

const spec = { minReplicas: 0, maxReplicas: 4, targetInflight: 10, idleTimeout: 60_000 };
const at = (over: Partial<ScaleInput>): number =>
  desiredReplicas({
    spec,
    load: 0,
    current: 0,
    now: 100_000,
    lastBusyAt: 100_000,
    lastChangeAt: 0,
    scaleDownDelayMs: 10_000,
    ...over,
  });

describe("autoscale", () => {
  test("autoscale - load over the target adds replicas at once, capped at maxReplicas", () => {
    expect(at({ load: 1 })).toBe(1);
    expect(at({ load: 25, current: 1 })).toBe(3);
    expect(at({ load: 2_000, current: 1 })).toBe(4);
  });

  test("autoscale - minReplicas holds even without load", () => {
    expect(at({ spec: { ...spec, minReplicas: 2 }, current: 0 })).toBe(2);
    expect(at({ spec: { ...spec, minReplicas: 2 }, current: 2, lastBusyAt: 0 })).toBe(2);
  });

  test("autoscale - down one replica per scale-down delay, never right after a change", () => {
    expect(at({ load: 5, current: 4, lastChangeAt: 95_000 })).toBe(4);
    expect(at({ load: 5, current: 4, lastChangeAt: 80_000 })).toBe(3);
  });

  test("autoscale - to zero only after the idle time without load", () => {
    expect(at({ current: 1, lastBusyAt: 50_000 })).toBe(1);
    expect(at({ current: 3, lastBusyAt: 30_000, lastChangeAt: 99_000 })).toBe(0);
    expect(at({ spec: { ...spec, minReplicas: 1 }, current: 1, lastBusyAt: 0 })).toBe(1);
  });
});
