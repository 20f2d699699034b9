import type { JsMsg } from "@nats-io/jetstream";

/** One held call: its message stays in progress until released. */
export interface Lease {
  /** Run on each beat too while set (e.g. to keep a concurrency slot alive). */
  onTick: (() => void) | undefined;
  release(): void;
}

/**
 * Keeps the calls a worker is handling alive in JetStream with one timer for all of them: every
 * half AckWait, each held message gets a progress ack (`working()`). Holding and releasing a call
 * is a map insert and delete, where a timer per call (or per step of a call) cost a timer's
 * creation and cancelling each time. A call held just before a beat gets its first progress ack
 * early, never later than half an AckWait after it was taken.
 */
export class Leases {
  readonly #held = new Map<JsMsg, Lease>();
  readonly #timer: NodeJS.Timeout;

  constructor(ackWaitMs: number) {
    this.#timer = setInterval(() => this.#beat(), Math.max(ackWaitMs / 2, 100));
    this.#timer.unref();
  }

  /** Holds `msg` until the lease is released. */
  hold(msg: JsMsg): Lease {
    const held = this.#held;
    const lease: Lease = {
      onTick: undefined,
      release: () => void held.delete(msg),
    };
    held.set(msg, lease);
    return lease;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #beat(): void {
    for (const [msg, lease] of this.#held) {
      msg.working();
      lease.onTick?.();
    }
  }
}
