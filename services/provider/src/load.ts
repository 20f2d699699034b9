/** A report older than this is dropped: its sender stopped or stopped reporting. */
const STALE_MS = 3_000;

interface Report {
  kind: string;
  inflight: number;
  at: number;
}

/** The in-flight counts workers and gateways report, per function and sender. */
export class LoadReports {
  readonly #byFunction = new Map<string, Map<string, Report>>();

  /** Records one `{ source, kind, inflight }` report; malformed ones are ignored. */
  record(fn: string, text: string): void {
    let parsed: { source?: unknown; kind?: unknown; inflight?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      return;
    }
    const { source, kind, inflight } = parsed;
    if (typeof source !== "string" || typeof kind !== "string" || typeof inflight !== "number")
      return;
    const senders = this.#byFunction.get(fn) ?? new Map<string, Report>();
    senders.set(source, { kind, inflight, at: Date.now() });
    this.#byFunction.set(fn, senders);
  }

  /** In-flight calls of `fn` reported by senders of `kind` (every kind when undefined). */
  sum(fn: string, kind: string | undefined, now: number): number {
    let total = 0;
    for (const [source, r] of this.#byFunction.get(fn) ?? []) {
      if (now - r.at > STALE_MS) this.#byFunction.get(fn)?.delete(source);
      else if (kind === undefined || r.kind === kind) total += r.inflight;
    }
    return total;
  }
}
