import { Redis } from "ioredis";
import { RECENT_CALLS_KEY, timelineKey, type TimelineEntry } from "@ferry/contracts";

/** Median milliseconds of each stage of a call, from the timelines the services write. */
export interface StageMedians {
  /** Accepted (`enqueued`) to the worker's first attempt: the time in JetStream. */
  queue: number;
  /** First attempt to the stored outcome (`final`): the function call and the write. */
  run: number;
  /** Stored outcome to the delivered callback. */
  callback: number;
  /** Calls the medians are taken over. */
  calls: number;
}

/**
 * Where the accept → callback time of the calls accepted since `sinceMs` went, from up to
 * `sample` of them spread over the run. Timeline times are whole milliseconds, so each median is within 1 ms.
 */
export async function stageMedians(
  redisUrl: string,
  sinceMs: number,
  sample = 500,
): Promise<StageMedians | undefined> {
  const redis = new Redis(redisUrl);
  try {
    const all = await redis.zrangebyscore(RECENT_CALLS_KEY, sinceMs, "+inf");
    // Spread over the whole run: its first calls meet cold connections and JIT.
    const step = Math.max(1, all.length / sample);
    const ids = Array.from(
      { length: Math.min(sample, all.length) },
      (_, i) => all[Math.floor(i * step)] ?? "",
    );
    const pipe = redis.pipeline();
    for (const id of ids) pipe.lrange(timelineKey(id), 0, -1);
    const lists = (await pipe.exec()) ?? [];
    const stages = { queue: [] as number[], run: [] as number[], callback: [] as number[] };
    for (const [, raw] of lists) {
      const at = new Map<string, number>();
      for (const line of (raw as string[] | null) ?? []) {
        const entry = JSON.parse(line) as TimelineEntry;
        if (!at.has(entry.e)) at.set(entry.e, entry.t);
      }
      const [enq, attempt, final, cb] = ["enqueued", "attempt", "final", "callback"].map((e) =>
        at.get(e),
      );
      if (enq === undefined || attempt === undefined || final === undefined || cb === undefined)
        continue;
      stages.queue.push(attempt - enq);
      stages.run.push(final - attempt);
      stages.callback.push(cb - final);
    }
    if (stages.queue.length === 0) return undefined;
    const median = (xs: number[]): number =>
      xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
    return {
      queue: median(stages.queue),
      run: median(stages.run),
      callback: median(stages.callback),
      calls: stages.queue.length,
    };
  } finally {
    redis.disconnect();
  }
}
