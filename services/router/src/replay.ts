import { randomBytes } from "node:crypto";
import { DeliverPolicy, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import {
  FerryError,
  Streams,
  decodeEvent,
  eventSubject,
  topicOf,
  type FunctionSpec,
} from "@ferry/contracts";
import { fromMsgHdrs, type FunctionRegistry } from "@ferry/jetstream";
import { publishInvocations, subscribers } from "./fanout.js";

/** What to replay. */
export interface ReplayRequest {
  /** Topic or topic pattern (NATS wildcards) of the events to replay. */
  topic: string;
  /** Replays the events stored at or after this time. */
  since: Date;
  /** Only these functions, each receiving every replayed event; default: each event's subscribers. */
  functions?: string[] | undefined;
  /** Most events replayed by one request. */
  limit: number;
}

/** What a replay did. */
export interface ReplayResult {
  /** Suffix of the replayed invocations' call ids (`….r<replayId>`). */
  replayId: string;
  events: number;
  invocations: number;
}

/**
 * Re-routes past events from FERRY_EVENTS. Invocations get fresh call ids (the event's with a
 * replay suffix) so that JetStream's dedupe window does not drop them.
 */
export async function replayEvents(
  js: JetStreamClient,
  registry: FunctionRegistry,
  req: ReplayRequest,
  opts: { logger: Logger; publishTimeoutMs: number },
): Promise<ReplayResult> {
  const named = req.functions?.map((name) => {
    const spec = registry.get(name);
    if (!spec) throw new FerryError("FunctionNotFound", `function "${name}" not found`);
    return spec;
  });
  const replayId = randomBytes(4).toString("hex");
  const log = opts.logger.child({ component: "replay", replayId, topic: req.topic });
  const consumer = await js.consumers.get(Streams.Events, {
    filter_subjects: eventSubject(req.topic),
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: req.since.toISOString(),
  });
  const result: ReplayResult = { replayId, events: 0, invocations: 0 };
  let done = false;
  while (!done && result.events < req.limit) {
    const batch = await consumer.fetch({
      max_messages: Math.min(256, req.limit - result.events),
      expires: 1_000,
    });
    let received = 0;
    for await (const msg of batch) {
      received++;
      result.events++;
      result.invocations += await replayOne(msg, named, registry, js, replayId, opts);
      if (msg.info.pending === 0 || result.events >= req.limit) done = true;
    }
    if (received === 0) done = true;
  }
  log.info({ ...result, since: req.since.toISOString() }, "events replayed");
  return result;
}

async function replayOne(
  msg: JsMsg,
  named: FunctionSpec[] | undefined,
  registry: FunctionRegistry,
  js: JetStreamClient,
  replayId: string,
  opts: { logger: Logger; publishTimeoutMs: number },
): Promise<number> {
  const topic = topicOf(msg.subject) ?? "";
  let event;
  try {
    event = decodeEvent(fromMsgHdrs(msg.headers));
  } catch (err) {
    opts.logger.warn({ err, seq: msg.seq }, "skipping a stored message that is not an event");
    return 0;
  }
  const specs = named ?? subscribers(registry, topic);
  const traceparent = msg.headers?.get("traceparent") || undefined;
  const published = await publishInvocations(
    js,
    { event, topic, data: msg.data, traceparent },
    specs,
    {
      timeoutMs: opts.publishTimeoutMs,
      replay: replayId,
    },
  );
  return published.length;
}
