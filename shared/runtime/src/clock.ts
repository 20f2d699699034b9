/**
 * The wall clock to the microsecond. `Date.now()` counts whole milliseconds, which makes a
 * nanosecond `X-Start-Time` up to a millisecond early (half of one on average). Node's
 * `performance.timeOrigin` is the wall clock at process start to the microsecond, and
 * `performance.now()` a monotonic count since; their sum drifts from the wall clock as the system
 * clock is slewed or set (by a third of a millisecond a second, seen on a fresh machine). So each
 * reading is held within the millisecond `Date.now()` gives, by the smallest shift that puts it
 * there: readings taken as `Date.now()` ticks over keep the sum at the wall clock's own edge.
 */
let offsetMs = 0;

/** Microseconds since the epoch, an integer, within the millisecond `Date.now()` reads. */
export function nowMicros(): number {
  const ms = performance.timeOrigin + performance.now() + offsetMs;
  const wall = Date.now();
  // `wall` truncates: the true time is in [wall, wall + 1).
  let shift = 0;
  if (ms < wall) shift = wall - ms;
  else if (ms >= wall + 1) shift = wall + 0.999 - ms;
  offsetMs += shift;
  return Math.floor((ms + shift) * 1000);
}
