import { availableParallelism } from "node:os";

/** How long and how often each measurement runs. */
export interface BenchSettings {
  /** `--quick`: under a minute, only the rows with a goal and their baselines. */
  quick: boolean;
  /** Seconds per load run. */
  seconds: number;
  /** Runs per figure; the median is reported. */
  repeats: number;
  /** Queue-worker processes (and minimal workers): one per two cores unless `--workers` says. */
  workers: number;
}

/**
 * `--quick`: under a minute; default: a fuller run, under ten. Workers: one per two cores, unless
 * `workers` says otherwise. The function, its watchdog, the sink, NATS and Redis run on the same
 * cores: on 2 cores, one worker process drained as fast as two and answered 1.5-2 ms sooner at
 * 700 calls/s (three pairs in turns), for Ferry and for the minimal worker alike.
 */
export function settingsFor(quick: boolean, workers?: number): BenchSettings {
  const base = quick ? { seconds: 2, repeats: 1 } : { seconds: 10, repeats: 3 };
  return {
    quick,
    ...base,
    workers: workers ?? defaultWorkers(),
  };
}

/** Worker processes when `--workers` does not say: one per two cores (see {@link settingsFor}). */
export function defaultWorkers(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

/** Command-line flags of the bench and its tools: `--workers N` and the rest, positional. */
export function benchArgs(argv: readonly string[]): {
  flags: Set<string>;
  workers: number | undefined;
  positional: string[];
} {
  const flags = new Set<string>();
  const positional: string[] = [];
  let workers: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--workers" || a.startsWith("--workers=")) {
      const raw = a.includes("=") ? a.slice("--workers=".length) : argv[++i];
      workers = Number(raw);
      if (!Number.isInteger(workers) || workers < 1) {
        throw new Error(`--workers wants a whole number above 0, not ${String(raw)}`);
      }
    } else if (a.startsWith("--")) flags.add(a);
    else positional.push(a);
  }
  return { flags, workers, positional };
}
