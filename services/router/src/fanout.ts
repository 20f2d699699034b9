import {
  EventHttpHeaders,
  encodeEvent,
  encodeInvocation,
  eventCallId,
  invokeSubject,
  topicMatches,
  type CloudEvent,
  type FunctionSpec,
  type Invocation,
} from "@ferry/contracts";
import { toMsgHdrs, type FunctionRegistry, type PublishesWithAck } from "@ferry/jetstream";
import { SpanKind, currentTrace, extractTrace, withSpan } from "@ferry/runtime";

/** One event read from FERRY_EVENTS. */
export interface RoutedEvent {
  event: CloudEvent;
  topic: string;
  data: Uint8Array;
  traceparent?: string | undefined;
}

/** Functions whose `triggers` match `topic`. */
export function subscribers(registry: FunctionRegistry, topic: string): FunctionSpec[] {
  return registry.list().filter((s) => s.triggers?.some((p) => topicMatches(p, topic)));
}

/**
 * The invocation of `spec` for an event, as the gateway would build it for a POST: the event's
 * attributes become `ce-*` headers beside `x-topic` and its content type.
 */
export function eventInvocation(ev: RoutedEvent, spec: FunctionSpec, replay?: string): Invocation {
  const headers: Record<string, string> = { [EventHttpHeaders.Topic]: ev.topic };
  for (const [name, value] of encodeEvent(ev.event)) headers[name.toLowerCase()] = value;
  const inv: Invocation = {
    callId: eventCallId(ev.event, spec.name, replay),
    function: spec.name,
    queue: spec.queue,
    method: "POST",
    path: "/",
    query: "",
    enqueuedAt: Date.now(),
    headers,
  };
  if (ev.traceparent) inv.traceparent = ev.traceparent;
  return inv;
}

/** Outcome of publishing one invocation. */
export interface Published {
  function: string;
  callId: string;
  duplicate: boolean;
}

/** Publishes one invocation per spec and resolves once JetStream acked every one. */
export async function publishInvocations(
  js: PublishesWithAck,
  ev: RoutedEvent,
  specs: FunctionSpec[],
  opts: { timeoutMs: number; replay?: string },
): Promise<Published[]> {
  const span = {
    parent: extractTrace({ traceparent: ev.traceparent }),
    kind: SpanKind.PRODUCER,
    attributes: { "ferry.topic": ev.topic, "ferry.subscribers": specs.length },
  };
  return withSpan("router fan-out", span, () => publishEach(js, ev, specs, opts));
}

function publishEach(
  js: PublishesWithAck,
  ev: RoutedEvent,
  specs: FunctionSpec[],
  opts: { timeoutMs: number; replay?: string },
): Promise<Published[]> {
  return Promise.all(
    specs.map(async (spec) => {
      const inv = eventInvocation(ev, spec, opts.replay);
      Object.assign(inv, currentTrace(inv));
      const ack = await js.publish(invokeSubject(spec.queue, spec.name), ev.data, {
        msgID: inv.callId,
        headers: toMsgHdrs(encodeInvocation(inv)),
        timeout: opts.timeoutMs,
      });
      return { function: spec.name, callId: inv.callId, duplicate: ack.duplicate };
    }),
  );
}
