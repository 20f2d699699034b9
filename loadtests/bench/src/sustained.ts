import { paced } from "./paced.js";
import { drain, resetSink, sinkStats } from "./sink.js";

/** One paced run of the search. */
export interface Probe {
  /** Calls a second offered, evenly paced. */
  rate: number;
  /** Accepted calls whose callback had not arrived when the last one was accepted. */
  behind: number;
  keptUp: boolean;
}

/** What {@link sustainedRate} found. */
export interface Sustained {
  /** The highest rate that kept up; 0 when none did. */
  rate: number;
  probes: Probe[];
}

/** Options of {@link sustainedRate}. */
export interface SustainedOptions {
  /** The accepting endpoint: the calls arrive here and leave as callbacks to the sink. */
  url: string;
  headers?: Record<string, string>;
  body: string;
  /** The callback sink's base URL (its `/stats` counts distinct calls; DELETE resets it). */
  sinkUrl: string;
  /** The first rate tried: a guess near the answer (the drain rate, say). */
  guess: number;
  /** Paced runs in all. */
  probes: number;
  /** Seconds each. */
  seconds: number;
}

const STEP = 1.3;

/**
 * The end-to-end throughput with every part running at once: the highest evenly paced rate of
 * calls into `url` whose callbacks keep up. A drain of a backlog leaves the accepting side idle,
 * so it overstates what a system that accepts and runs calls at the same time sustains.
 *
 * A run keeps up when every call was accepted at the pace, and when the last one was, at most a
 * tenth of a second's worth of callbacks were still to come: past its capacity, the backlog
 * grows by the overload every second (5 % over for 2 s leaves 0.1 s' worth), while at a
 * sustainable rate what is outstanding is the calls of one mean latency, tens of milliseconds'
 * worth. From `guess` the rate steps up by 30 % while runs keep up (down while they do not), then
 * bisects between the highest that kept up and the lowest that did not. Each run waits for the
 * previous one's backlog to drain.
 */
export async function sustainedRate(opts: SustainedOptions): Promise<Sustained> {
  const probes: Probe[] = [];
  let passed = 0;
  let failed = Infinity;
  let rate = Math.max(10, Math.round(opts.guess));
  for (let i = 0; i < opts.probes; i++) {
    const probe = await probeAt(opts, rate);
    probes.push(probe);
    if (probe.keptUp) passed = Math.max(passed, rate);
    else failed = Math.min(failed, rate);
    if (failed === Infinity) rate = Math.round(rate * STEP);
    else if (passed === 0) rate = Math.max(10, Math.round(rate / STEP));
    else rate = Math.round((passed + failed) / 2);
  }
  return { rate: passed, probes };
}

async function probeAt(opts: SustainedOptions, rate: number): Promise<Probe> {
  await resetSink(opts.sinkUrl);
  const run = await paced({
    url: opts.url,
    body: opts.body,
    headers: opts.headers ?? {},
    connections: 50,
    durationSec: opts.seconds,
    rate,
  });
  const accepted = run.total - run.errors;
  const behind = accepted - (await sinkStats(opts.sinkUrl)).unique;
  // Accepted at the pace: the client sends on time unless answers stop coming back.
  const onPace = run.errors === 0 && run.rps >= rate * 0.95;
  await drain(opts.sinkUrl, accepted);
  return { rate, behind, keptUp: onPace && behind <= rate / 10 };
}
