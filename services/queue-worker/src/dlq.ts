import type { JetStreamClient } from "@nats-io/jetstream";
import { DlqHeaders, dlqSubject, encodeInvocation, type Invocation } from "@ferry/contracts";
import { toMsgHdrs } from "@ferry/jetstream";

/** Why and how a call failed for good. */
export interface DeadLetterInfo {
  /** `attempts`, `not-retryable`, `expired`, `no-function`. */
  reason: string;
  statusCode: number;
  error: string;
  attempts: number;
  /** When the last attempt started (ms since the epoch); when it was given up if never run. */
  lastAttemptAt: number;
  worker: string;
}

/**
 * Stores the call with its failure in FERRY_DLQ and resolves with its sequence there. `sourceSeq`
 * (the message's sequence in FERRY_INVOKE) makes the publish idempotent across redeliveries.
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  inv: Invocation,
  body: Uint8Array,
  info: DeadLetterInfo,
  sourceSeq: number,
): Promise<number> {
  const pairs: Array<[string, string]> = [
    ...encodeInvocation(inv),
    [DlqHeaders.Reason, info.reason],
    [DlqHeaders.StatusCode, String(info.statusCode)],
    [DlqHeaders.Error, oneLine(info.error)],
    [DlqHeaders.Attempts, String(info.attempts)],
    [DlqHeaders.LastAttemptAt, String(info.lastAttemptAt)],
    [DlqHeaders.DeadAt, String(Date.now())],
    [DlqHeaders.Worker, info.worker],
  ];
  const ack = await js.publish(dlqSubject(inv.queue, inv.function), body, {
    msgID: `dlq-${inv.callId}-${sourceSeq}`,
    headers: toMsgHdrs(pairs),
  });
  return ack.seq;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ").slice(0, 1000);
}
