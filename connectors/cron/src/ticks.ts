import { Cron } from "croner";
import type { Schedule } from "./config.js";

/** The tick times of one schedule. */
export interface Ticks {
  /** The first tick strictly after `after` (ms since the epoch), or undefined when none is left. */
  next(after: number): number | undefined;
}

/**
 * Tick times: from croner for cron expressions (time zones and DST as croner documents), and
 * multiples of the interval since the epoch for `every`, so that every replica computes the same.
 */
export function ticksOf(schedule: Schedule): Ticks {
  const every = schedule.every;
  if (every !== undefined) return { next: (after) => (Math.floor(after / every) + 1) * every };
  const cron = new Cron(schedule.cron ?? "", {
    timezone: schedule.timezone,
    paused: true,
    mode: "5-or-6-parts",
  });
  return { next: (after) => cron.nextRun(new Date(after))?.getTime() };
}

/** Ticks in `(from, to]`, at most the last `max` of them. */
export function ticksBetween(ticks: Ticks, from: number, to: number, max: number): number[] {
  const out: number[] = [];
  for (let t = ticks.next(from); t !== undefined && t <= to; t = ticks.next(t)) {
    out.push(t);
    if (out.length > max) out.shift();
  }
  return out;
}
