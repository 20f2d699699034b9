/** Counts callbacks per call id and keeps accept-to-callback latencies for percentiles. */
export class CallbackStats {
  readonly #seen = new Map<string, number>();
  #latencies = new Float64Array(1 << 16);
  #count = 0;
  received = 0;
  duplicates = 0;
  badSignatures = 0;
  startedAt = Date.now();
  /** When the first and the last callback arrived (ms since the epoch), 0 before any. */
  firstAt = 0;
  lastAt = 0;

  /** Records one callback; `latencyMs` is undefined when the start time is unknown. */
  record(callId: string, latencyMs: number | undefined): void {
    this.received++;
    this.lastAt = Date.now();
    if (this.firstAt === 0) this.firstAt = this.lastAt;
    const times = (this.#seen.get(callId) ?? 0) + 1;
    this.#seen.set(callId, times);
    if (times > 1) this.duplicates++;
    else if (latencyMs !== undefined) this.#push(latencyMs);
  }

  /** Distinct call ids received. */
  get unique(): number {
    return this.#seen.size;
  }

  /** Latency percentile in ms (p in 0..100) over first deliveries, or undefined with none. */
  percentile(p: number): number | undefined {
    if (this.#count === 0) return undefined;
    const sorted = this.#latencies.slice(0, this.#count).sort();
    const index = Math.min(this.#count - 1, Math.max(0, Math.ceil((p / 100) * this.#count) - 1));
    return sorted[index];
  }

  /** Everything as a JSON-friendly object. */
  snapshot(): Record<string, number | undefined> {
    return {
      received: this.received,
      unique: this.unique,
      duplicates: this.duplicates,
      badSignatures: this.badSignatures,
      p50Ms: this.percentile(50),
      p90Ms: this.percentile(90),
      p99Ms: this.percentile(99),
      maxMs: this.percentile(100),
      elapsedMs: Date.now() - this.startedAt,
      firstAt: this.firstAt,
      lastAt: this.lastAt,
    };
  }

  reset(): void {
    this.#seen.clear();
    this.#count = 0;
    this.received = this.duplicates = this.badSignatures = this.firstAt = this.lastAt = 0;
    this.startedAt = Date.now();
  }

  #push(value: number): void {
    if (this.#count === this.#latencies.length) {
      const bigger = new Float64Array(this.#latencies.length * 2);
      bigger.set(this.#latencies);
      this.#latencies = bigger;
    }
    this.#latencies[this.#count++] = value;
  }
}
