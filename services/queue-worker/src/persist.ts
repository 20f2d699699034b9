import type { Logger } from "pino";
import { sleep } from "@ferry/runtime";

/** Longest wait for one store attempt: a request lost in a server restart must not hang a call. */
const STORE_ATTEMPT_TIMEOUT_MS = 10_000;

/**
 * Retries `work` with backoff while it throws or hangs (Redis or NATS away); the call's lease
 * keeps it in progress meanwhile. Every `work` passed here is idempotent, so an attempt given up
 * on may still land.
 */
export async function persistent<T>(log: () => Logger, work: () => Promise<T>): Promise<T> {
  for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
    try {
      return await withTimeout(work(), STORE_ATTEMPT_TIMEOUT_MS);
    } catch (err) {
      log().warn({ err, retryInMs: wait }, "cannot store yet, retrying");
      await sleep(wait);
    }
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    );
  });
}
