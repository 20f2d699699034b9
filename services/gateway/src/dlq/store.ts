import type { JetStreamClient, JetStreamManager, MsgRequest, StoredMsg } from "@nats-io/jetstream";
import {
  DlqHeaders,
  Streams,
  Subjects,
  decodeInvocation,
  encodeInvocation,
  invokeSubject,
  type Invocation,
} from "@ferry/contracts";
import { fromMsgHdrs, toMsgHdrs } from "@ferry/jetstream";

/** One dead letter as the API shows it. */
export interface DeadLetter {
  /** Sequence in FERRY_DLQ: the cursor of the list. */
  seq: number;
  callId: string;
  function: string;
  queue: string;
  reason: string;
  statusCode: number;
  error: string;
  attempts: number;
  redrives: number;
  enqueuedAt: number;
  lastAttemptAt: number;
  deadAt: number;
  worker: string;
  bodyBytes: number;
}

/** Reads, redrives and deletes dead letters in FERRY_DLQ. */
export class DlqStore {
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
  ) {}

  /** Up to `limit` dead letters after sequence `after`, oldest first, of one function or all. */
  async list(opts: { fn?: string; after?: number; limit: number }): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    let seq = (opts.after ?? 0) + 1;
    while (out.length < opts.limit) {
      const msg = await this.next(seq, opts.fn);
      if (!msg) break;
      out.push(toDeadLetter(msg));
      seq = msg.seq + 1;
    }
    return out;
  }

  /**
   * The newest dead letter of a call, with its body; undefined when there is none. `hintSeq`
   * (the worker records it in the call's status) saves scanning the stream.
   */
  async find(
    callId: string,
    hintSeq?: number,
  ): Promise<{ letter: DeadLetter; body: Uint8Array } | undefined> {
    if (hintSeq) {
      const hinted = await this.at(hintSeq);
      if (hinted?.header?.get("Ferry-Call-Id") === callId) {
        return { letter: toDeadLetter(hinted), body: hinted.data };
      }
    }
    let found: StoredMsg | undefined;
    for (let seq = 1; ;) {
      const msg = await this.next(seq);
      if (!msg) break;
      if (msg.header?.get("Ferry-Call-Id") === callId) found = msg;
      seq = msg.seq + 1;
    }
    return found && { letter: toDeadLetter(found), body: found.data };
  }

  /**
   * Queues the call again with its call id and fresh attempts, then removes the dead letter. A
   * redriven call's age counts from now, so that `maxAge` does not expire it at once.
   */
  async redrive(callId: string, hintSeq?: number): Promise<DeadLetter | undefined> {
    const hit = await this.find(callId, hintSeq);
    return hit ? this.redriveSeq(hit.letter.seq) : undefined;
  }

  /** Redrives the dead letter at `seq`; undefined when it is gone. */
  async redriveSeq(seq: number): Promise<DeadLetter | undefined> {
    const stored = await this.at(seq);
    if (!stored) return undefined;
    const letter = toDeadLetter(stored);
    const old = decodeInvocation(fromMsgHdrs(stored.header));
    const inv: Invocation = {
      ...old,
      enqueuedAt: Date.now(),
      redrives: (old.redrives ?? 0) + 1,
    };
    delete inv.attemptsBefore;
    delete inv.notBefore;
    delete inv.deadline;
    await this.js.publish(invokeSubject(inv.queue, inv.function), stored.data, {
      msgID: `${inv.callId}#r${inv.redrives}`,
      headers: toMsgHdrs(encodeInvocation(inv)),
    });
    await this.jsm.streams.deleteMessage(Streams.Dlq, seq, false);
    return { ...letter, redrives: inv.redrives ?? 1 };
  }

  /** Removes a call's dead letter; false when there was none. */
  async remove(callId: string, hintSeq?: number): Promise<boolean> {
    const hit = await this.find(callId, hintSeq);
    if (!hit) return false;
    return this.jsm.streams.deleteMessage(Streams.Dlq, hit.letter.seq, false);
  }

  private next(seq: number, fn?: string): Promise<StoredMsg | null> {
    const filter = fn ? `${Subjects.Dlq}.*.${fn}` : `${Subjects.Dlq}.>`;
    // nats-server 2.9 answers `next_by_subj` on STREAM.MSG.GET; the client types only name seq/last.
    return this.get({ seq, next_by_subj: filter } as unknown as MsgRequest);
  }

  private at(seq: number): Promise<StoredMsg | null> {
    return this.get({ seq });
  }

  private async get(query: MsgRequest): Promise<StoredMsg | null> {
    try {
      return await this.jsm.streams.getMessage(Streams.Dlq, query);
    } catch (err) {
      if ((err as { code?: number }).code === 10037 || /no message found/i.test(String(err))) {
        return null;
      }
      throw err;
    }
  }
}

function toDeadLetter(msg: StoredMsg): DeadLetter {
  const h = (name: string): string => msg.header?.get(name) ?? "";
  const inv = decodeInvocation(fromMsgHdrs(msg.header));
  return {
    seq: msg.seq,
    callId: inv.callId,
    function: inv.function,
    queue: inv.queue,
    reason: h(DlqHeaders.Reason),
    statusCode: Number(h(DlqHeaders.StatusCode)),
    error: h(DlqHeaders.Error),
    attempts: Number(h(DlqHeaders.Attempts)),
    redrives: inv.redrives ?? 0,
    enqueuedAt: inv.enqueuedAt,
    lastAttemptAt: Number(h(DlqHeaders.LastAttemptAt)),
    deadAt: Number(h(DlqHeaders.DeadAt)),
    worker: h(DlqHeaders.Worker),
    bodyBytes: msg.data.length,
  };
}
