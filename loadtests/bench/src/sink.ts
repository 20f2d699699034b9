import { sleep } from "@ferry/runtime";

/** What the callback sink's `GET /stats` answers. */
export interface SinkStats {
  /** Distinct calls whose callback arrived since the last reset. */
  unique: number;
  duplicates: number;
  /** Accept → callback latency percentiles, ms. */
  p50Ms?: number;
  p99Ms?: number;
  /** When the first and the last callback arrived, ms since the epoch. */
  firstAt: number;
  lastAt: number;
}

/** The sink's counts since its last reset. */
export async function sinkStats(sinkUrl: string): Promise<SinkStats> {
  return (await (await fetch(`${sinkUrl}/stats`)).json()) as SinkStats;
}

/** Forgets what the sink counted so far. */
export async function resetSink(sinkUrl: string): Promise<void> {
  await fetch(`${sinkUrl}/stats`, { method: "DELETE" });
}

/** Waits until the sink saw `count` distinct calls or nothing new arrived for `idleMs`. */
export async function drain(sinkUrl: string, count: number, idleMs = 10_000): Promise<SinkStats> {
  let last = await sinkStats(sinkUrl);
  let still = Date.now();
  while (last.unique < count && Date.now() - still < idleMs) {
    await sleep(100);
    const now = await sinkStats(sinkUrl);
    if (now.unique !== last.unique) still = Date.now();
    last = now;
  }
  return last;
}
