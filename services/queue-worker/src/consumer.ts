import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import {
  CallStatus,
  Streams,
  decodeInvocation,
  queueConsumerName,
  type FunctionSpec,
  type Invocation,
} from "@ferry/contracts";
import { fromMsgHdrs, type EndpointLease, type FunctionRegistry } from "@ferry/jetstream";
import { sleep } from "@ferry/runtime";
import type { Dispatch, DispatchResult } from "./dispatch.js";
import type { WorkerMetrics } from "./metrics.js";
import type { FinalOutcome, OutcomeRecorder } from "./outcome.js";
import { Semaphore } from "./semaphore.js";

/** What one queue's consumer loop needs. */
export interface QueueLoopDeps {
  js: JetStreamClient;
  registry: FunctionRegistry;
  dispatch: Dispatch;
  recorder: OutcomeRecorder;
  metrics: WorkerMetrics;
  logger: Logger;
  /** A replica for one call (waiting for one to start if needed); undefined when none came. */
  acquireEndpoint: (spec: FunctionSpec, signal: AbortSignal) => Promise<EndpointLease | undefined>;
  /** Calls run at once from this queue. */
  maxInflight: number;
  /** The consumer's AckWait; progress acks are sent at half of it. */
  ackWaitMs: number;
  /** The consumer's MaxDeliver: the last delivery records a failure instead of handing back. */
  maxDeliver: number;
}

/** A running consumer of one queue. */
export interface QueueLoop {
  queue: string;
  /** Stops pulling, waits for running calls up to `deadlineMs`, hands back the rest. */
  stop(deadlineMs: number): Promise<void>;
}

/** Starts pulling one queue's calls from its durable consumer. */
export async function startQueueLoop(queue: string, deps: QueueLoopDeps): Promise<QueueLoop> {
  const log = deps.logger.child({ component: "consumer", queue });
  const consumer = await deps.js.consumers.get(Streams.Invoke, queueConsumerName(queue));
  const messages: ConsumerMessages = await consumer.consume({ max_messages: deps.maxInflight });
  const slots = new Semaphore(deps.maxInflight);
  const running = new Map<JsMsg, AbortController>();
  let stopping = false;

  const loop = (async () => {
    for await (const msg of messages) {
      await slots.acquire();
      if (stopping) {
        msg.nak();
        slots.release();
        continue;
      }
      const abort = new AbortController();
      running.set(msg, abort);
      void handle(msg, deps, log, abort.signal)
        .catch((err: unknown) => log.error({ err }, "call handling failed"))
        .finally(() => {
          running.delete(msg);
          slots.release();
        });
    }
  })();
  log.info({ maxInflight: deps.maxInflight }, "consuming");

  return {
    queue,
    async stop(deadlineMs) {
      stopping = true;
      messages.stop();
      await loop.catch(() => {});
      const until = Date.now() + deadlineMs;
      while (running.size > 0 && Date.now() < until) await sleep(20);
      for (const [msg, abort] of running) {
        abort.abort();
        msg.nak();
      }
      if (running.size > 0) log.warn({ handedBack: running.size }, "calls handed back at shutdown");
    },
  };
}

async function handle(
  msg: JsMsg,
  deps: QueueLoopDeps,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const attempt = msg.info.deliveryCount;
  let inv: Invocation;
  try {
    inv = decodeInvocation(fromMsgHdrs(msg.headers));
  } catch (err) {
    log.error({ err, seq: msg.seq }, "dropping a message that is not an invocation");
    msg.term();
    return;
  }
  const callLog = log.child({ callId: inv.callId, function: inv.function, attempt });
  const spec = deps.registry.get(inv.function);
  const startedAt = Date.now();
  if (!spec) {
    const out = failure(attempt, startedAt, 404, `function "${inv.function}" no longer exists`);
    return finish(msg, inv, out, deps, callLog);
  }
  // Scale from zero: the lease is held while the provider starts a replica.
  const endpoint = await withLease(msg, deps.ackWaitMs, () => deps.acquireEndpoint(spec, signal));
  if (!endpoint) return handBack(msg, inv, attempt, deps, callLog, "no ready replica");

  deps.metrics.queueWait.observe({ queue_name: inv.queue }, (startedAt - inv.enqueuedAt) / 1000);
  await deps.recorder.running(inv, attempt, startedAt);
  const result = await withLease(msg, deps.ackWaitMs, () => {
    deps.metrics.inflight.inc({ function_name: inv.function });
    return deps.dispatch
      .call(endpoint.url, inv, msg.data, { timeoutMs: spec.timeout, attempt, signal })
      .finally(() => {
        endpoint.release();
        deps.metrics.inflight.dec({ function_name: inv.function });
      });
  });
  deps.metrics.duration.observe({ function_name: inv.function }, result.durationMs / 1000);
  if (result.kind === "unreachable" && attempt < deps.maxDeliver && !signal.aborted) {
    return handBack(msg, inv, attempt, deps, callLog, result.error);
  }
  await finish(msg, inv, toOutcome(result, attempt, startedAt), deps, callLog);
}

function toOutcome(result: DispatchResult, attempt: number, startedAt: number): FinalOutcome {
  if (result.kind === "unreachable") return failure(attempt, startedAt, 502, result.error);
  if (result.kind === "timeout") return failure(attempt, startedAt, 504, result.error);
  const ok = result.statusCode >= 200 && result.statusCode < 300;
  return {
    status: ok ? CallStatus.Succeeded : CallStatus.Failed,
    statusCode: result.statusCode,
    contentType: result.contentType,
    body: result.body,
    attempts: attempt,
    startedAt,
    finishedAt: Date.now(),
    durationMs: result.durationMs,
  };
}

function failure(
  attempt: number,
  startedAt: number,
  statusCode: number,
  error: string,
): FinalOutcome {
  const finishedAt = Date.now();
  const body = Buffer.from(
    JSON.stringify({ error: { code: "FERRY_ERR_CALL_FAILED", message: error } }),
  );
  return {
    status: CallStatus.Failed,
    statusCode,
    contentType: "application/json",
    body,
    attempts: attempt,
    startedAt,
    finishedAt,
    durationMs: finishedAt - startedAt,
    error,
  };
}

/** Records the outcome (retrying while Redis is away, holding the lease), then acks. */
async function finish(
  msg: JsMsg,
  inv: Invocation,
  out: FinalOutcome,
  deps: QueueLoopDeps,
  log: Logger,
): Promise<void> {
  await withLease(msg, deps.ackWaitMs, async () => {
    for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
      try {
        return await deps.recorder.final(inv, out);
      } catch (err) {
        log.warn({ err, retryInMs: wait }, "cannot record the outcome yet");
        await sleep(wait);
      }
    }
  });
  msg.ack();
  deps.metrics.processed.inc({ function_name: inv.function, outcome: out.status });
  // Successes are the bulk of the traffic: logged at debug, so that info costs nothing per call.
  const level = out.status === "succeeded" ? "debug" : "info";
  log[level](
    { status: out.status, statusCode: out.statusCode, durationMs: Math.round(out.durationMs) },
    "call finished",
  );
}

function handBack(
  msg: JsMsg,
  inv: Invocation,
  attempt: number,
  deps: QueueLoopDeps,
  log: Logger,
  reason: string,
): void {
  const delayMs = Math.min(250 * 2 ** (attempt - 1), 10_000);
  log.warn({ reason, delayMs }, "function unreachable, call handed back");
  deps.metrics.redeliveries.inc({ function_name: inv.function, reason: "unreachable" });
  msg.nak(delayMs);
}

/** Runs `work` while telling JetStream, every half AckWait, that the call is still in progress. */
async function withLease<T>(msg: JsMsg, ackWaitMs: number, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => msg.working(), Math.max(ackWaitMs / 2, 100));
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
