import autocannon from "autocannon";

/** One load run's figures. */
export interface LoadResult {
  /** Requests per second with a 2xx answer. */
  rps: number;
  /** Latency percentiles, ms. */
  p50: number;
  p99: number;
  /** Non-2xx answers and errors. */
  errors: number;
  total: number;
}

/** Options of {@link load}. */
export interface LoadOptions {
  url: string;
  method?: "GET" | "POST";
  body?: string | Buffer;
  headers?: Record<string, string>;
  connections: number;
  durationSec: number;
}

/** Drives closed-loop HTTP load with autocannon (as fast as it answers) and returns its figures; `paced()` is the evenly paced open-loop one. */
export async function load(opts: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: opts.url,
    method: opts.method ?? "POST",
    connections: opts.connections,
    duration: opts.durationSec,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
  const ok = result["2xx"];
  return {
    rps: ok / opts.durationSec,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
    total: result.requests.total,
  };
}

/** The figures of a run from its successful requests' latencies (ms) and its error count. */
export function fromSamples(samples: number[], elapsedSec: number, errors: number): LoadResult {
  samples.sort((a, b) => a - b);
  const at = (q: number): number =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
  return {
    rps: samples.length / elapsedSec,
    p50: at(0.5),
    p99: at(0.99),
    errors,
    total: samples.length + errors,
  };
}

/** Runs `fn` `times` times and returns the run with the median rps. */
export async function median(times: number, fn: () => Promise<LoadResult>): Promise<LoadResult> {
  return (await mediansInTurns(times, [fn]))[0] as LoadResult;
}

/**
 * Runs each of `fns` `times` times in turns (a, b, a, b, …) and returns each one's run with the
 * median rps: whatever the machine does meanwhile weighs on all of them alike, as it would not on
 * figures measured minutes apart.
 */
export async function mediansInTurns(
  times: number,
  fns: ReadonlyArray<() => Promise<LoadResult>>,
): Promise<LoadResult[]> {
  const runs = fns.map(() => [] as LoadResult[]);
  for (let i = 0; i < times; i++) {
    for (const [k, fn] of fns.entries()) runs[k]?.push(await fn());
  }
  return runs.map((r) => r.sort((a, b) => a.rps - b.rps)[Math.floor(r.length / 2)] as LoadResult);
}
