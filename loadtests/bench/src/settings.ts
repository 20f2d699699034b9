import { availableParallelism } from "node:os";

/** How long and how often each measurement runs. */
export interface BenchSettings {
  /** `--quick`: under a minute, only the rows with a goal and their baselines. */
  quick: boolean;
  /** Seconds per load run. */
  seconds: number;
  /** Runs per figure; the median is reported. */
  repeats: number;
  /** Queue-worker processes draining the calls: one per core, as a deployment would run them. */
  workers: number;
}

/** `--quick`: under a minute; default: a fuller run, under ten. `workers` overrides one per core. */
export function settingsFor(quick: boolean, workers?: number): BenchSettings {
  const base = quick ? { seconds: 2, repeats: 1 } : { seconds: 10, repeats: 3 };
  return { quick, ...base, workers: workers ?? availableParallelism() };
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
