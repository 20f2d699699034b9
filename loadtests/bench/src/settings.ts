/** How long and how often each measurement runs. */
export interface BenchSettings {
  /** Seconds per load run. */
  seconds: number;
  /** Runs per figure; the median is reported. */
  repeats: number;
}

/** `--quick`: under a minute; default: a fuller run, under ten minutes. */
export function settingsFor(quick: boolean): BenchSettings {
  return quick ? { seconds: 3, repeats: 1 } : { seconds: 10, repeats: 3 };
}
