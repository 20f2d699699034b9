import type { Redis } from "ioredis";
import type { Queue } from "bullmq";
import {
  CALLBACK_BACKOFF_TYPE,
  CallStatus,
  CallbackState,
  FINAL_STATUSES,
  callKey,
  resultKey,
  STATS_TTL_SECONDS,
  latencyBucket,
  statsKey,
  timelineKey,
  type TimelineEntry,
  type CallbackJob,
  type Invocation,
} from "@ferry/contracts";

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
  afterFinal?: ReadonlyArray<(inv: Invocation, out: FinalOutcome) => Promise<void>>;
}

/** Writes call status to Redis and enqueues callback jobs. */
export class OutcomeRecorder {
  constructor(
    private readonly redis: Redis,
    private readonly callbacks: Queue,
    private readonly opts: RecorderOptions,
  ) {}

  /** Marks a call as running (attempt N, started now). */
  async running(inv: Invocation, attempt: number, startedAt: number): Promise<void> {
    const key = callKey(inv.callId);
    await this.redis
      .multi()
      .hset(key, {
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
      })
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

  /** Stores the final outcome and result, then enqueues the callback. Resolves when both are safe. */
  async final(inv: Invocation, out: FinalOutcome): Promise<void> {
    const key = callKey(inv.callId);
    const stored = out.body.length <= this.opts.maxStoredResultBytes;
    const tx = this.redis
      .multi()
      .hset(key, {
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
        redrives: inv.redrives ?? 0,
        ...(out.dlqSeq !== undefined ? { dlqSeq: out.dlqSeq } : {}),
      })
      .expire(key, this.opts.ttlSeconds);
    if (stored) tx.set(resultKey(inv.callId), out.body, "EX", this.opts.ttlSeconds);
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
    const stats = statsKey(out.finishedAt);
    tx.rpush(timelineKey(inv.callId), entry(item))
      .expire(timelineKey(inv.callId), this.opts.ttlSeconds)
      .hincrby(stats, `done:${out.status}`, 1)
      .hincrby(stats, `done:${out.status}:${inv.function}`, 1)
      .hincrby(stats, `e2e:${latencyBucket(out.finishedAt - inv.enqueuedAt)}`, 1)
      .hincrby(stats, `dur:${inv.function}:${latencyBucket(out.durationMs)}`, 1)
      .expire(stats, STATS_TTL_SECONDS);
    await tx.exec();
    if (inv.callbackUrl) await this.enqueueCallback(inv, out);
    for (const hook of this.opts.afterFinal ?? []) await hook(inv, out);
    // Only now is the call settled: a worker that dies before this line leaves it to run again.
    if (inv.callbackUrl) await this.redis.hset(key, "callbackQueued", inv.redrives ?? 0);
  }
  /**
   * True when this run of the call (same redrive generation) already has a final status: its
   * message came back only because an ack was lost, and it must not run again.
   */
  async settled(inv: Invocation): Promise<boolean> {
    const [status, redrives, queued] = await this.redis.hmget(
      callKey(inv.callId),
      "status",
      "redrives",
      "callbackQueued",
    );
    if (!status || !FINAL_STATUSES.has(status as CallStatus)) return false;
    const run = inv.redrives ?? 0;
    if (Number(redrives ?? 0) !== run) return false;
    return !inv.callbackUrl || (queued !== null && Number(queued) === run);
  }

  private async enqueueCallback(inv: Invocation, out: FinalOutcome): Promise<void> {
    const job: CallbackJob = {
      callId: inv.callId,
      function: inv.function,
      url: inv.callbackUrl ?? "",
      statusCode: out.statusCode,
      durationSeconds: out.durationMs / 1000,
      startTime: inv.enqueuedAt,
      body: out.body.toString("base64"),
      ...(out.contentType ? { contentType: out.contentType } : {}),
      ...(inv.traceparent ? { traceparent: inv.traceparent } : {}),
      attempt: out.attempts,
      ...(out.maxAttempts !== undefined ? { maxAttempts: out.maxAttempts } : {}),
    };
    // The job id is the call id: a call that runs twice (worker died after this point but before
    // its ack) gets one callback, not two. A redriven call is a new run and gets its own.
    await this.callbacks.add("deliver", job, {
      jobId: inv.redrives ? `${inv.callId}#r${inv.redrives}` : inv.callId,
      attempts: this.opts.callbackAttempts,
      // The callbacks service computes the waits (its own policy, and Retry-After).
      backoff: { type: CALLBACK_BACKOFF_TYPE },
      removeOnComplete: { age: this.opts.ttlSeconds, count: 10_000 },
      removeOnFail: { age: this.opts.ttlSeconds },
    });
  }
}

function entry(item: TimelineEntry): string {
  return JSON.stringify(item);
}
