import type { ChainableCommander, Redis } from "ioredis";
import { Job, type Queue } from "bullmq";
import { callbackStateRecorder, type CallbackStateRecorder } from "@ferry/callbacks";
import {
  CALLBACK_BACKOFF_TYPE,
  CallStatus,
  CallbackState,
  FINAL_STATUSES,
  callKey,
  cancelKey,
  resultKey,
  STATS_TTL_SECONDS,
  latencyBucket,
  statsKey,
  timelineKey,
  type TimelineEntry,
  type CallbackJob,
  type Invocation,
} from "@ferry/contracts";
import { ScriptBatch, fieldArgs, type ScriptArg } from "@ferry/runtime";
import { callbackOf, type FirstAttempt } from "./first-callback.js";

/** The final outcome of one call, as the worker saw it. */
export interface FinalOutcome {
  status:
    | typeof CallStatus.Succeeded
    | typeof CallStatus.Failed
    | typeof CallStatus.DeadLettered
    | typeof CallStatus.Cancelled;
  statusCode: number;
  contentType: string | undefined;
  body: Buffer;
  attempts: number;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  error?: string;
  /** Why a call was dead-lettered or cancelled: `attempts`, `not-retryable`, `expired`, … */
  reason?: string;
  /** Sequence of the call's dead letter in FERRY_DLQ. */
  dlqSeq?: number;
  /** The most attempts the call could have had. */
  maxAttempts?: number;
}

/** Options of {@link OutcomeRecorder}. */
export interface RecorderOptions {
  /** Seconds a call's status and result are kept. */
  ttlSeconds: number;
  /** Results larger than this are delivered but not stored. */
  maxStoredResultBytes: number;
  /** Retry policy of callback jobs. */
  callbackAttempts: number;
  callbackBackoffMs: number;
  /** Identifies this worker in call records. */
  workerId: string;
  /** Run after the outcome is stored and the callback queued, before the call is acked. */
  afterFinal?: readonly AfterFinal[];
  /**
   * The worker makes the first delivery attempt itself ({@link FirstCallback}): {@link final}
   * then leaves the callback to {@link callbackAttempted}, which settles the call.
   */
  firstCallback?: boolean;
}

/** Work that follows a stored outcome and must be done before the call counts as settled. */
export interface AfterFinal {
  /** Whether {@link run} has anything to do for this outcome. */
  applies(inv: Invocation, out: FinalOutcome): boolean;
  run(inv: Invocation, out: FinalOutcome): Promise<void>;
}

/** Where a delivered call stands before it runs; see {@link OutcomeRecorder.begin}. */
export const CallStart = { Run: 0, Settled: 1, Cancelled: 2 } as const;
export type CallStart = (typeof CallStart)[keyof typeof CallStart];

/**
 * One round trip before a call runs: settled (final status of this run, callback queued if it has
 * one) → 1; cancelled → 2; else, when ARGV[3] is 1, writes the `running` fields and the TTL → 0.
 * KEYS: call hash, cancel key, timeline. ARGV: run (redrives), has callback (0/1), mark running
 * (0/1), TTL, the timeline entry of the attempt, then the running fields as name/value pairs.
 */
const BEGIN_SCRIPT = `
local st = redis.call('HMGET', KEYS[1], 'status', 'redrives', 'callbackQueued')
local run = tonumber(ARGV[1])
if st[1] and FINAL[st[1]] and tonumber(st[2] or '0') == run
  and (ARGV[2] == '0' or (st[3] and tonumber(st[3]) == run)) then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], unpack(ARGV, 6))
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('RPUSH', KEYS[3], ARGV[5])
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
return 0`;

/**
 * A call's final outcome in one script: the status fields and TTL, the result (when stored), the
 * final timeline entry, and this 10-second bucket's four outcome counters (the dashboard).
 * KEYS: call hash, result, timeline, stats bucket. ARGV: TTL, stored (0/1), result body, timeline
 * entry, stats TTL, the four counter fields, then the status fields as name/value pairs.
 */
const FINAL_SCRIPT = `
local ttl = ARGV[1]
redis.call('HSET', KEYS[1], unpack(ARGV, 10))
redis.call('EXPIRE', KEYS[1], ttl)
if ARGV[2] == '1' then redis.call('SET', KEYS[2], ARGV[3], 'EX', ttl) end
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('EXPIRE', KEYS[3], ttl)
for i = 6, 9 do redis.call('HINCRBY', KEYS[4], ARGV[i], 1) end
redis.call('EXPIRE', KEYS[4], ARGV[5])
return 1`;

interface FinalCommand {
  ferryFinal(...keysAndArgs: Array<string | number | Buffer>): Promise<number>;
}

/** `client` with the final-outcome script defined (on each connection it is used on). */
function withFinal(client: Redis): Redis & FinalCommand {
  if (!("ferryFinal" in client)) {
    client.defineCommand("ferryFinal", { numberOfKeys: 4, lua: FINAL_SCRIPT });
  }
  return client as Redis & FinalCommand;
}

/** Writes call status to Redis and enqueues callback jobs. */
export class OutcomeRecorder {
  // The three writes of every call, each batched with the other calls' of the same turn.
  readonly #begin: ScriptBatch;
  readonly #final: ScriptBatch;
  readonly #recordCallback: CallbackStateRecorder;

  constructor(
    private readonly redis: Redis,
    private readonly callbacks: Queue,
    private readonly opts: RecorderOptions,
  ) {
    const finals = [...FINAL_STATUSES].map((s) => `['${s}']=true`).join(", ");
    this.#begin = new ScriptBatch(redis, "Begin", BEGIN_SCRIPT, `local FINAL = { ${finals} }`);
    this.#final = new ScriptBatch(redis, "Final", FINAL_SCRIPT);
    this.#recordCallback = callbackStateRecorder(redis);
  }

  /**
   * Before a call runs, in one round trip: is this run already settled (an ack was lost), or
   * cancelled? If neither and `startedAt` is given, marks it running (attempt N, started then),
   * as {@link running} would.
   */
  async begin(inv: Invocation, attempt: number, startedAt?: number): Promise<CallStart> {
    const run = inv.redrives ?? 0;
    const fields = startedAt === undefined ? {} : this.runningFields(inv, attempt, startedAt);
    const keys = [callKey(inv.callId), cancelKey(inv.callId), timelineKey(inv.callId)];
    const state = await this.#begin.run(keys, [
      run,
      inv.callbackUrl ? 1 : 0,
      startedAt === undefined ? 0 : 1,
      this.opts.ttlSeconds,
      startedAt === undefined
        ? ""
        : entry({ t: startedAt, e: "attempt", n: attempt, worker: this.opts.workerId }),
      ...fieldArgs(fields),
    ]);
    return state as CallStart;
  }

  private runningFields(inv: Invocation, attempt: number, startedAt: number) {
    return {
      callId: inv.callId,
      function: inv.function,
      queue: inv.queue,
      status: CallStatus.Running,
      attempts: attempt,
      enqueuedAt: inv.enqueuedAt,
      startedAt,
      worker: this.opts.workerId,
      callbackUrl: inv.callbackUrl ?? "",
      callbackState: inv.callbackUrl ? CallbackState.Pending : CallbackState.None,
    };
  }

  /** Marks a call as running (attempt N, started now). */
  async running(inv: Invocation, attempt: number, startedAt: number): Promise<void> {
    const key = callKey(inv.callId);
    await this.redis
      .multi()
      .hset(key, this.runningFields(inv, attempt, startedAt))
      .expire(key, this.opts.ttlSeconds)
      .rpush(
        timelineKey(inv.callId),
        entry({ t: startedAt, e: "attempt", n: attempt, worker: this.opts.workerId }),
      )
      .expire(timelineKey(inv.callId), this.opts.ttlSeconds)
      .exec();
  }

  /** Records a failed attempt that will be retried (the dashboard's timeline); best effort. */
  async attemptFailed(
    inv: Invocation,
    failed: {
      attempt: number;
      at: number;
      code: number;
      durationMs: number;
      error: string;
      retryInMs: number;
    },
  ): Promise<void> {
    const timeline = timelineKey(inv.callId);
    const item: TimelineEntry = {
      t: failed.at,
      e: "attempt-failed",
      n: failed.attempt,
      code: failed.code,
      ms: Math.round(failed.durationMs),
      retryInMs: Math.round(failed.retryInMs),
      ...(failed.error ? { error: failed.error.slice(0, 500) } : {}),
    };
    await this.redis
      .multi()
      .rpush(timeline, entry(item))
      .expire(timeline, this.opts.ttlSeconds)
      .exec();
  }

  /**
   * Stores the final outcome and result in one script. Unless the worker makes the callback's
   * first attempt itself, the callback job and the settled mark go in the same transaction (one
   * round trip). When after-final work applies (a destination, a body to delete), it runs between
   * the transaction and the settled mark instead: a worker that dies before the mark leaves the
   * call to run again, and the callback job's id keeps it single.
   */
  async final(inv: Invocation, out: FinalOutcome): Promise<void> {
    const key = callKey(inv.callId);
    const run = inv.redrives ?? 0;
    const stored = out.body.length <= this.opts.maxStoredResultBytes;
    const after = (this.opts.afterFinal ?? []).filter((a) => a.applies(inv, out));
    // Queued now unless the worker attempts it first (then callbackAttempted settles the call).
    const queueNow = inv.callbackUrl !== undefined && !this.opts.firstCallback;
    // The dashboard: the final timeline entry and this 10-second bucket's outcome counters.
    const item: TimelineEntry = {
      t: out.finishedAt,
      e: "final",
      n: out.attempts,
      status: out.status,
      code: out.statusCode,
      ms: Math.round(out.durationMs),
      ...(out.error ? { error: out.error.slice(0, 500) } : {}),
    };
    const fields = {
      status: out.status,
      statusCode: out.statusCode,
      attempts: out.attempts,
      finishedAt: out.finishedAt,
      durationMs: Math.round(out.durationMs),
      contentType: out.contentType ?? "",
      resultBytes: out.body.length,
      resultStored: stored ? 1 : 0,
      error: out.error ?? "",
      reason: out.reason ?? "",
      redrives: run,
      ...(out.dlqSeq !== undefined ? { dlqSeq: out.dlqSeq } : {}),
    };
    const keys = [key, resultKey(inv.callId), timelineKey(inv.callId), statsKey(out.finishedAt)];
    const args: ScriptArg[] = [
      this.opts.ttlSeconds,
      stored ? 1 : 0,
      stored ? out.body : "",
      entry(item),
      STATS_TTL_SECONDS,
      `done:${out.status}`,
      `done:${out.status}:${inv.function}`,
      `e2e:${latencyBucket(out.finishedAt - inv.enqueuedAt)}`,
      `dur:${inv.function}:${latencyBucket(out.durationMs)}`,
      ...fieldArgs(fields),
    ];
    if (!queueNow) {
      await this.#final.run(keys, args);
    } else {
      // The callback job must be added in the same transaction, so on the queue's own connection.
      const tx = withFinal(await this.bullClient()).multi() as ChainableCommander & {
        ferryFinal(...keysAndArgs: Array<string | number | Buffer>): ChainableCommander;
      };
      tx.ferryFinal(...keys, ...args);
      const added = this.addCallback(tx, inv, out);
      // Object form: the queue's client wraps MULTI so that hset takes (key, fields) only; a
      // (key, field, value) call there would write the field name's letters as fields 0, 1, 2…
      if (after.length === 0) tx.hset(key, { callbackQueued: run });
      const results = await tx.exec();
      const failed = results?.find(([err]: [Error | null, unknown]) => err !== null);
      if (!results || failed) {
        throw failed?.[0] ?? new Error("the outcome transaction was discarded");
      }
      await added;
    }
    if (after.length === 0) return;
    for (const a of after) await a.run(inv, out);
    // Only now is the call settled: a worker that dies before this line leaves it to run again.
    if (queueNow) await this.redis.hset(key, { callbackQueued: run });
  }

  /**
   * Whether the outcome writes asked for so far have left for Redis whole (see
   * {@link ScriptBatch.sent}): a receiver that looks a call up on its callback then finds it.
   */
  outcomeSent(): boolean {
    return this.#final.sent();
  }

  /**
   * Settles a call whose callback the worker attempted: records the delivery, or queues the job
   * that makes the later attempts (or lists the failure), and marks the run settled. Idempotent:
   * the job id is the call's, so a write retried after a lost answer queues nothing twice.
   */
  async callbackAttempted(inv: Invocation, out: FinalOutcome, first: FirstAttempt): Promise<void> {
    const run = inv.redrives ?? 0;
    const now = Date.now();
    if (first.kind === "delivered") {
      await this.#recordCallback(
        inv.callId,
        { callbackState: CallbackState.Delivered, callbackAttempts: 1, callbackQueued: run },
        { t: now, e: "callback", n: 1, status: "delivered", code: first.status },
      );
      return;
    }
    const key = callKey(inv.callId);
    const tx = (await this.bullClient()).multi();
    const added = this.addCallback(tx, inv, out, first.job, first.delayMs);
    tx.hset(key, {
      callbackQueued: run,
      ...(first.error && !first.job.failedBefore
        ? { callbackAttempts: 1, callbackError: first.error }
        : {}),
    });
    if (first.error && !first.job.failedBefore) {
      const retry: TimelineEntry = {
        t: now,
        e: "callback",
        n: 1,
        status: "retry",
        ...(first.statusCode !== undefined ? { code: first.statusCode } : {}),
        error: first.error.slice(0, 500),
      };
      tx.rpush(timelineKey(inv.callId), entry(retry));
    }
    const results = await tx.exec();
    const failed = results?.find(([err]: [Error | null, unknown]) => err !== null);
    if (!results || failed)
      throw failed?.[0] ?? new Error("the callback transaction was discarded");
    await added;
  }

  private async bullClient(): Promise<Redis> {
    return (await this.callbacks.backend.client) as unknown as Redis;
  }

  /** Adds the callback job to the transaction `tx`; resolves (after exec) with its id. */
  private addCallback(
    tx: ChainableCommander,
    inv: Invocation,
    out: FinalOutcome,
    extra: Pick<CallbackJob, "attemptsBefore" | "failedBefore"> = {},
    delayMs = 0,
  ): Promise<string> {
    const data: CallbackJob = {
      ...callbackOf(inv, out),
      body: out.body.toString("base64"),
      ...extra,
    };
    // The job id is the call id: a call that runs twice (worker died after this point but before
    // its ack) gets one callback, not two. A redriven call is a new run and gets its own.
    const jobId = inv.redrives ? `${inv.callId}#r${inv.redrives}` : inv.callId;
    const job = new Job(
      this.callbacks,
      "deliver",
      data,
      {
        jobId,
        attempts: this.opts.callbackAttempts,
        // The callbacks service computes the waits (its own policy, and Retry-After).
        backoff: { type: CALLBACK_BACKOFF_TYPE },
        removeOnComplete: { age: this.opts.ttlSeconds, count: 10_000 },
        removeOnFail: { age: this.opts.ttlSeconds },
        ...(delayMs > 0 ? { delay: delayMs } : {}),
      },
      jobId,
    );
    return job.addJob(tx as unknown as Parameters<typeof job.addJob>[0]);
  }
}

function entry(item: TimelineEntry): string {
  return JSON.stringify(item);
}
