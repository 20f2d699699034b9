import type { JsMsg } from "@nats-io/jetstream";

/**
 * Runs `work` while telling JetStream, every half AckWait, that the call is still in progress,
 * and calls `onTick` on the same beat (e.g. to keep a concurrency slot alive).
 */
export async function withLease<T>(
  msg: JsMsg,
  ackWaitMs: number,
  work: () => Promise<T>,
  onTick?: () => void,
): Promise<T> {
  const timer = setInterval(
    () => {
      msg.working();
      onTick?.();
    },
    Math.max(ackWaitMs / 2, 100),
  );
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
