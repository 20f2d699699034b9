import type { NatsConnection } from "@ferry/jetstream";
import type { Logger } from "pino";
import { cancelSubject } from "@ferry/contracts";

/** The abort reason of a call cancelled while it runs (a worker that stops aborts without one). */
export class CallCancelled extends Error {
  override name = "CallCancelled";
}

/**
 * Cancels: the gateway sets `ferry:cancel:<id>` in Redis (read by `OutcomeRecorder.begin` before a
 * call runs) and announces the id on `ferry.cancel.<id>`, which aborts the call if it is running
 * on this worker.
 */
export class CancelWatch {
  readonly #running = new Map<string, AbortController>();
  readonly #sub;

  constructor(nc: NatsConnection, logger: Logger) {
    this.#sub = nc.subscribe(cancelSubject("*"), {
      callback: (_err, msg) => {
        const callId = msg.subject.slice(cancelSubject("").length);
        const abort = this.#running.get(callId);
        if (abort) {
          logger.info({ callId }, "aborting a running call: cancelled");
          abort.abort(new CallCancelled("the call was cancelled"));
        }
      },
    });
  }

  /** Registers a running call; its controller aborts on a cancel. Returns the unregister function. */
  track(callId: string, abort: AbortController): () => void {
    this.#running.set(callId, abort);
    return () => {
      if (this.#running.get(callId) === abort) this.#running.delete(callId);
    };
  }

  close(): void {
    this.#sub.unsubscribe();
  }
}
