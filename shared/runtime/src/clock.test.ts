import { expect, test } from "vitest";
import { nowMicros } from "./clock.js";

test("nowMicros - an integer within the millisecond Date.now() reads, to the microsecond", async () => {
  const fractions = new Set<number>();
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 1_000; i++) {
      const before = Date.now();
      const us = nowMicros();
      const after = Date.now();
      expect(Number.isInteger(us)).toBe(true);
      expect(us).toBeGreaterThanOrEqual(before * 1000);
      expect(us).toBeLessThan((after + 1) * 1000);
      fractions.add(us % 1000);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  // Not the start of a millisecond each time, as Date.now() * 1000 would be.
  expect(fractions.size).toBeGreaterThan(100);
});
