import { paced } from "./paced.js";
import { drain, resetSink, sinkStats } from "./sink.js";

/** One paced run of the search. */
export interface Probe {
  /** Calls a second offered, evenly paced. */
  rate: number;
  /** Accepted calls whose callback had not arrived when the last one was accepted. */
  behind: number;
  /** Callbacks a second that arrived meanwhile: under overload, about what the system sustains. */
  completedRate: number;
  keptUp: boolean;
}

/** What {@link sustainedRate} found. */
export interface Sustained {
  /** The highest rate that kept up; 0 when none did. */
  rate: number;
  probes: Probe[];
}

/** One system whose sustained rate {@link sustainedRates} finds. */
export interface SustainedTarget {
  /** The accepting endpoint: the calls arrive here and leave as callbacks to the sink. */
  url: string;
  headers?: Record<string, string>;
  /** The first rate tried: a guess near the answer (the drain rate, say). */
  guess: number;
}

/** Options of {@link sustainedRates}. */
export interface SustainedOptions {
  body: string;
  /** The callback sink's base URL (its `/stats` counts distinct calls; DELETE resets it). */
  sinkUrl: string;
  /** Paced runs of each target. */
  probes: number;
  /** Seconds each. */
  seconds: number;
}

const STEP = 1.3;

/**
 * The end-to-end throughput of each target with every part running at once: the highest evenly
 * paced rate of calls into its `url` whose callbacks keep up. A drain of a backlog leaves the
 * accepting side idle, so it overstates what a system that accepts and runs calls at the same time
 * sustains.
 *
 * A run keeps up when every call was accepted at the pace, and when the last one was, at most a
 * tenth of a second's worth of callbacks were still to come: past its capacity, the backlog
 * grows by the overload every second (5 % over for 2 s leaves 0.1 s' worth), while at a
 * sustainable rate what is outstanding is the calls of one mean latency, tens of milliseconds'
 * worth. From `guess` the rate steps up by 30 % while runs keep up, then bisects between the
 * highest that kept up and the lowest that did not. A run that falls behind before any kept up
 * is followed by one at the rate its callbacks came back at: overloaded, a system completes
 * about what it sustains (a little less, for the extra calls it accepts meanwhile), so that the
 * bisection starts from a narrow bracket rather than from a 30 % step down. Each run waits for the
 * previous one's backlog to drain.
 *
 * The targets' runs take turns (a, b, a, b, …), so that the machine's drift over the minutes of
 * the search weighs on each alike; searched one after the other, a ratio of two rates moved by a
 * third between runs of the bench.
 */
export async function sustainedRates(
  targets: readonly SustainedTarget[],
  opts: SustainedOptions,
): Promise<Sustained[]> {
  const searches = targets.map((t) => new Search(t.guess));
  for (let i = 0; i < opts.probes; i++) {
    for (const [k, target] of targets.entries()) {
      const search = searches[k] as Search;
      search.record(await probeAt(opts, target, search.next));
    }
  }
  return searches.map((search) => ({ rate: search.passed, probes: search.probes }));
}

/** The search of one target: the rate to try next, from what the runs so far showed. */
class Search {
  readonly probes: Probe[] = [];
  passed = 0;
  #failed = Infinity;
  next: number;

  constructor(guess: number) {
    this.next = Math.max(10, Math.round(guess));
  }

  record(probe: Probe): void {
    this.probes.push(probe);
    const rate = probe.rate;
    if (probe.keptUp) this.passed = Math.max(this.passed, rate);
    else this.#failed = Math.min(this.#failed, rate);
    if (this.#failed === Infinity) this.next = Math.round(rate * STEP);
    else if (this.passed === 0) {
      // Below the failed rate, but not by more than two steps at once.
      const below = Math.min(probe.completedRate, rate * 0.97);
      this.next = Math.max(10, Math.round(Math.max(below, rate / (STEP * STEP))));
    } else this.next = Math.round((this.passed + this.#failed) / 2);
  }
}

async function probeAt(
  opts: SustainedOptions,
  target: SustainedTarget,
  rate: number,
): Promise<Probe> {
  await resetSink(opts.sinkUrl);
  const run = await paced({
    url: target.url,
    body: opts.body,
    headers: target.headers ?? {},
    connections: 50,
    durationSec: opts.seconds,
    rate,
  });
  const accepted = run.total - run.errors;
  const completed = (await sinkStats(opts.sinkUrl)).unique;
  const behind = accepted - completed;
  // Accepted at the pace: the client sends on time unless answers stop coming back.
  const onPace = run.errors === 0 && run.rps >= rate * 0.95;
  await drain(opts.sinkUrl, accepted);
  const completedRate = Math.round(completed / opts.seconds);
  return { rate, behind, completedRate, keptUp: onPace && behind <= rate / 10 };
}
