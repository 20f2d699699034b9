import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { CallStatus, decodeInvocation, type FunctionSpec, type Invocation } from "@ferry/contracts";
import {
  fromMsgHdrs,
  type BodyStore,
  type EndpointLease,
  type FunctionRegistry,
} from "@ferry/jetstream";
import {
  SpanKind,
  extractTrace,
  injectTrace,
  recordSpan,
  traceIdOf,
  withSpan,
} from "@ferry/runtime";
import { bodyOf } from "./body.js";
import { CallCancelled, type CancelWatch } from "./cancel.js";
import type { Dispatch, DispatchResult } from "./dispatch.js";
import type { FirstCallback } from "./first-callback.js";
import { publishDeadLetter } from "./dlq.js";
import type { Lease } from "./lease.js";
import type { FunctionLimiter, Slot } from "./limiter.js";
import type { WorkerMetrics } from "./metrics.js";
import { CallStart, type FinalOutcome, type OutcomeRecorder } from "./outcome.js";
import type { Parking } from "./park.js";
import { persistent } from "./persist.js";
import { fromResponse, outcome, statusOf } from "./results.js";
import {
  isRetryable,
  parseRetryAfter,
  resolvePolicy,
  retryWaitMs,
  type ResolvedRetryPolicy,
} from "./retry.js";

/** What handling one call needs. */
export interface CallDeps {
  js: JetStreamClient;
  registry: FunctionRegistry;
  /** Claim-checked request bodies. */
  bodies?: BodyStore | undefined;
  dispatch: Dispatch;
  recorder: OutcomeRecorder;
  /** Makes each callback's first delivery attempt; absent: every attempt is queued. */
  firstCallback?: FirstCallback | undefined;
  metrics: WorkerMetrics;
  parking: Parking;
  limiter: FunctionLimiter;
  cancels: CancelWatch;
  /** A replica for one call (waiting for one to start if needed); undefined when none came. */
  acquireEndpoint: (spec: FunctionSpec, signal: AbortSignal) => Promise<EndpointLease | undefined>;
  /** Retry policy for what a function's spec leaves out. */
  retryDefaults: ResolvedRetryPolicy;
  /** Waits longer than this leave the consumer (parked in Redis) instead of a NAK with delay. */
  parkAfterMs: number;
  /** The consumer's AckWait; the consumer's leases send progress acks at half of it. */
  ackWaitMs: number;
  workerId: string;
}

/** One delivered message with what was learned about it so far. */
interface Call {
  msg: JsMsg;
  inv: Invocation;
  spec: FunctionSpec | undefined;
  policy: ResolvedRetryPolicy;
  attempt: number;
  /** Keeps the message in progress while the call is handled. */
  lease: Lease;
  /** The call's logger (with call id, function, attempt and trace id). */
  readonly log: Logger;
  /** The logger it is bound from, for level checks that must not bind it. */
  base: Logger;
}

/**
 * Runs one delivered message to its end: ack, NAK with delay, park, or dead-letter. `lease`
 * keeps it in progress meanwhile; the caller releases it when this settles. `abort` is the
 * message's own: the caller aborts it when the worker stops (the call is handed back), a cancel
 * with a {@link CallCancelled} reason (the call ends as cancelled).
 */
export async function handleMessage(
  msg: JsMsg,
  deps: CallDeps,
  log: Logger,
  abort: AbortController,
  lease: Lease,
): Promise<void> {
  let inv: Invocation;
  try {
    inv = decodeInvocation(fromMsgHdrs(msg.headers));
  } catch (err) {
    log.error({ err, seq: msg.seq }, "dropping a message that is not an invocation");
    msg.term();
    return;
  }
  const attempt = (inv.attemptsBefore ?? 0) + msg.info.deliveryCount;
  const parent = extractTrace(inv);
  const attributes = { "ferry.call_id": inv.callId, "ferry.function": inv.function, attempt };
  recordSpan("queue wait", parent, inv.enqueuedAt, { ...attributes, "ferry.queue": inv.queue });
  const span = { parent, kind: SpanKind.CONSUMER, attributes };
  // Onwards (function, callback, DLQ) the call carries this attempt's span as its parent.
  return withSpan("worker dispatch", span, (_s, ctx) =>
    handleCall(msg, { ...inv, ...injectTrace(ctx, inv) }, attempt, deps, log, abort, lease),
  );
}

async function handleCall(
  msg: JsMsg,
  inv: Invocation,
  attempt: number,
  deps: CallDeps,
  log: Logger,
  abort: AbortController,
  lease: Lease,
): Promise<void> {
  const spec = deps.registry.get(inv.function);
  const policy = resolvePolicy(spec, deps.retryDefaults);
  // Bound only when a line is written: a child logger per call costs as much as a Redis write.
  let child: Logger | undefined;
  const call: Call = {
    msg,
    inv,
    spec,
    policy,
    attempt,
    lease,
    base: log,
    get log() {
      const traceId = traceIdOf(inv.traceparent);
      return (child ??= log.child({
        callId: inv.callId,
        function: inv.function,
        attempt,
        traceId,
      }));
    },
  };
  const refusal = whyNotRun(call);
  const delayed = inv.notBefore !== undefined && inv.notBefore > Date.now();
  // The common case (runs now, no concurrency limit to wait for) is marked running in the same
  // round trip that checks it is neither settled nor cancelled.
  const runsNow = !refusal && !delayed && spec?.concurrency === undefined;
  const startedAt = runsNow ? Date.now() : undefined;
  const state = await persist(call, () => deps.recorder.begin(inv, attempt, startedAt));
  if (state === CallStart.Settled) {
    call.log.info("already finished (an ack was lost); acked without running again");
    return ack(msg);
  }
  if (state === CallStart.Cancelled) {
    return finish(call, deps, outcome(call, CallStatus.Cancelled, 499, "cancelled", "cancelled"));
  }
  if (refusal) return deadLetter(call, deps, refusal.reason, refusal.statusCode, refusal.error);
  if (delayed) {
    const id = `${inv.callId}.delay.${inv.redrives ?? 0}`;
    await persist(call, () => deps.parking.park(inv, msg.data, inv.notBefore ?? 0, id));
    call.log.info({ notBefore: inv.notBefore }, "call held until its time");
    return ack(msg);
  }
  await run(call, deps, abort, startedAt);
}

/**
 * Acks on the next turn of the event loop, together with every other call that finished in this
 * one: NATS then writes them in one syscall instead of one each. Only after the outcome is stored,
 * as before; a crash in between redelivers, as a crash before the ack always did.
 */
function ack(msg: JsMsg): void {
  if (pendingAcks.push(msg) === 1) setImmediate(flushAcks);
}
const pendingAcks: JsMsg[] = [];
function flushAcks(): void {
  for (const msg of pendingAcks.splice(0)) msg.ack();
}

function whyNotRun(call: Call): { reason: string; statusCode: number; error: string } | undefined {
  const { inv, spec, attempt, policy } = call;
  if (!spec)
    return { reason: "no-function", statusCode: 404, error: "the function no longer exists" };
  const now = Date.now();
  const tooOld = spec.maxAge !== undefined && now - inv.enqueuedAt > spec.maxAge;
  if (tooOld || (inv.deadline !== undefined && now > inv.deadline)) {
    return { reason: "expired", statusCode: 504, error: "the call expired before it could run" };
  }
  // A delivery past the last attempt: the worker of the last attempt died before recording it.
  if (attempt > policy.attempts) {
    return { reason: "attempts", statusCode: 502, error: "attempts exhausted (worker lost)" };
  }
  return undefined;
}

/** Runs the call; `markedAt` is when {@link OutcomeRecorder.begin} marked it running, if it did. */
async function run(
  call: Call,
  deps: CallDeps,
  abort: AbortController,
  markedAt: number | undefined,
): Promise<void> {
  const { msg, inv, spec, attempt } = call;
  if (!spec) return;
  const untrack = deps.cancels.track(inv.callId, abort);
  let slot: Slot | undefined;
  try {
    if (spec.concurrency !== undefined) {
      const holder = `${deps.workerId}:${inv.callId}:${msg.seq}`;
      slot = await deps.limiter.acquire(spec.name, spec.concurrency ?? 1, holder, abort.signal);
      if (!slot) return handBack(call, deps, "stopped while waiting for a concurrency slot");
    }
    const startedAt = markedAt ?? Date.now();
    deps.metrics.queueWait.observe({ queue_name: inv.queue }, (startedAt - inv.enqueuedAt) / 1000);
    if (markedAt === undefined) {
      await persist(call, () => deps.recorder.running(inv, attempt, startedAt));
    }
    const result = await dispatchOnce(call, deps, abort.signal, slot);
    await slot?.release();
    slot = undefined;
    if (result.kind === "cancelled" && !(abort.signal.reason instanceof CallCancelled)) {
      return handBack(call, deps, "worker stopping");
    }
    await settle(call, deps, result, startedAt);
  } finally {
    await slot?.release();
    untrack();
  }
}

async function dispatchOnce(
  call: Call,
  deps: CallDeps,
  signal: AbortSignal,
  slot: Slot | undefined,
): Promise<DispatchResult> {
  const { msg, inv, spec, attempt, policy, lease } = call;
  // Scale from zero: the lease is held while the provider starts a replica.
  const endpoint = spec ? await deps.acquireEndpoint(spec, signal) : undefined;
  if (!spec || !endpoint) {
    return { kind: "unreachable", error: "no ready replica of the function", durationMs: 0 };
  }
  const fn = { function_name: inv.function };
  // The concurrency slot is kept alive on the lease's beat while the function runs.
  if (slot) lease.onTick = () => slot.refresh();
  deps.metrics.inflight.inc(fn);
  deps.metrics.shared.started.inc(fn);
  let result: DispatchResult;
  try {
    const body = await bodyOf(msg, deps.bodies);
    result = await deps.dispatch.call(endpoint.url, inv, body, {
      timeoutMs: spec.timeout,
      attempt,
      maxAttempts: policy.attempts,
      signal,
    });
  } finally {
    lease.onTick = undefined;
    endpoint.release();
    deps.metrics.inflight.dec(fn);
  }
  deps.metrics.duration.observe(fn, result.durationMs / 1000);
  const code = { ...fn, code: String(statusOf(result)) };
  deps.metrics.shared.seconds.observe(code, result.durationMs / 1000);
  return result;
}

/** Decides what a finished attempt leads to: success, a retry, or the dead-letter queue. */
async function settle(
  call: Call,
  deps: CallDeps,
  result: DispatchResult,
  startedAt: number,
): Promise<void> {
  const { attempt, policy } = call;
  if (result.kind === "cancelled") {
    return finish(call, deps, outcome(call, CallStatus.Cancelled, 499, "cancelled", "cancelled"));
  }
  if (result.kind === "response" && result.statusCode >= 200 && result.statusCode < 300) {
    return finish(call, deps, fromResponse(call, result, startedAt, CallStatus.Succeeded));
  }
  const retryable = isRetryable(result, policy);
  if (retryable && attempt < policy.attempts) return retry(call, deps, result, startedAt);
  const statusCode = statusOf(result);
  const error = result.kind === "response" ? `the function answered ${statusCode}` : result.error;
  const reason = retryable ? "attempts" : "not-retryable";
  const body = result.kind === "response" ? result : undefined;
  return deadLetter(call, deps, reason, statusCode, error, body && { ...body, startedAt });
}

async function retry(
  call: Call,
  deps: CallDeps,
  result: DispatchResult,
  startedAt: number,
): Promise<void> {
  const { msg, inv, attempt, policy, log } = call;
  const retryAfter = result.kind === "response" ? parseRetryAfter(result.retryAfter) : undefined;
  const waitMs = retryWaitMs(policy, attempt, inv.callId, retryAfter);
  deps.metrics.retries.inc({ function_name: inv.function });
  log.warn({ status: statusOf(result), waitMs }, "attempt failed, will retry");
  // The dashboard's timeline; best effort and not awaited: a Redis outage must not hold the call
  // (only failed attempts pay this write).
  const error =
    result.kind === "response" ? `the function answered ${result.statusCode}` : result.error;
  void deps.recorder
    .attemptFailed(inv, {
      attempt,
      at: Date.now(),
      code: statusOf(result),
      durationMs: result.durationMs ?? Date.now() - startedAt,
      error,
      retryInMs: waitMs,
    })
    .catch((err: unknown) => log.debug({ err }, "timeline entry not written"));
  if (waitMs <= deps.parkAfterMs) return msg.nak(waitMs);
  const next: Invocation = { ...inv, attemptsBefore: attempt };
  const id = `${inv.callId}.retry.${inv.redrives ?? 0}.${attempt}`;
  await persist(call, () => deps.parking.park(next, msg.data, Date.now() + waitMs, id));
  ack(msg);
}

async function deadLetter(
  call: Call,
  deps: CallDeps,
  reason: string,
  statusCode: number,
  error: string,
  response?: Extract<DispatchResult, { kind: "response" }> & { startedAt: number },
): Promise<void> {
  const { msg, inv, attempt } = call;
  const out = response
    ? fromResponse(call, response, response.startedAt, CallStatus.DeadLettered)
    : outcome(call, CallStatus.DeadLettered, statusCode, error, reason);
  out.reason = reason;
  out.error = error;
  const lastAttemptAt = response?.startedAt ?? Date.now();
  const info = {
    reason,
    statusCode,
    error,
    attempts: attempt,
    worker: deps.workerId,
    lastAttemptAt,
  };
  out.dlqSeq = await persist(call, () => publishDeadLetter(deps.js, inv, msg.data, info, msg.seq));
  call.log.warn({ reason, statusCode, dlqSeq: out.dlqSeq }, "call dead-lettered");
  await finish(call, deps, out);
}

/**
 * Records the outcome (retrying while Redis is away, holding the lease), attempts the callback
 * when this worker makes first attempts (and records what came of it), then acks.
 */
async function finish(call: Call, deps: CallDeps, out: FinalOutcome): Promise<void> {
  const { inv, msg } = call;
  const stored = persist(call, () => deps.recorder.final(inv, out));
  const first = inv.callbackUrl ? deps.firstCallback : undefined;
  if (!first) await stored;
  else {
    // The attempt waits for the outcome's write to be sent, not answered: the write joined the
    // batch that this turn's end sends, and an immediate queued after that runs after it. So a
    // receiver that looks the call up on its callback finds the outcome, and the write's round
    // trip is off the call's path. When the write may not be served before a later lookup (a
    // batch longer than one of Redis' reads, Redis away), the attempt waits for its answer. The
    // call is settled only once both are done and the attempt is recorded: a worker that dies
    // before that runs it again, as it did between the two.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!deps.recorder.outcomeSent()) await stored;
    const [attempted] = await Promise.all([first.attempt(inv, out), stored]);
    await persist(call, () => deps.recorder.callbackAttempted(inv, out, attempted));
    if (attempted.kind === "delivered") {
      // As the callbacks service logs its deliveries: at debug, they are the bulk of the traffic.
      if (call.base.isLevelEnabled("debug")) {
        call.log.debug({ status: attempted.status, callbackAttempt: 1 }, "callback delivered");
      }
    } else if (attempted.error) {
      const delayMs = attempted.delayMs;
      call.log.info({ err: attempted.error, delayMs }, "callback attempt failed, queued for retry");
    }
  }
  ack(msg);
  deps.metrics.processed.inc({ function_name: call.inv.function, outcome: out.status });
  const labels = { function_name: call.inv.function, outcome: out.status };
  deps.metrics.endToEnd.observe(labels, (Date.now() - call.inv.enqueuedAt) / 1000);
  // Successes are the bulk of the traffic: logged at debug, so that info costs nothing per call.
  const level = out.status === CallStatus.Succeeded ? "debug" : "info";
  if (!call.base.isLevelEnabled(level)) return;
  call.log[level](
    { status: out.status, statusCode: out.statusCode, durationMs: Math.round(out.durationMs) },
    "call finished",
  );
}

function handBack(call: Call, deps: CallDeps, reason: string): void {
  call.log.warn({ reason }, "call handed back");
  deps.metrics.redeliveries.inc({ function_name: call.inv.function, reason: "handed-back" });
  call.msg.nak();
}

/** Retries a store step while Redis or NATS is away (the call's lease keeps it in progress). */
function persist<T>(call: Call, work: () => Promise<T>): Promise<T> {
  return persistent(() => call.log, work);
}
