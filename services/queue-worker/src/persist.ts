import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { sleep } from "@ferry/runtime";
import { withLease } from "./lease.js";

/** Longest wait for one store attempt: a request lost in a server restart must not hang a call. */
const STORE_ATTEMPT_TIMEOUT_MS = 10_000;

/**
 * Retries `work` with backoff while it throws or hangs (Redis or NATS away), holding the call's
 * lease. Every `work` passed here is idempotent, so an attempt given up on may still land.
 */
export function persistent<T>(
  msg: JsMsg,
  ackWaitMs: number,
  log: () => Logger,
  work: () => Promise<T>,
): Promise<T> {
  return withLease(msg, ackWaitMs, async () => {
    for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
      try {
        return await withTimeout(work(), STORE_ATTEMPT_TIMEOUT_MS);
      } catch (err) {
        log().warn({ err, retryInMs: wait }, "cannot store yet, retrying");
        await sleep(wait);
      }
    }
  });
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
