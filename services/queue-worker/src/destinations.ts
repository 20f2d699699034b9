import type { JetStreamClient } from "@nats-io/jetstream";
import type { Logger } from "pino";
import {
  CallStatus,
  DestinationKind,
  destinationCallId,
  encodeInvocation,
  eventSubject,
  invokeSubject,
  type Destination,
  type Invocation,
} from "@ferry/contracts";
import { toMsgHdrs, type BodyStore, type FunctionRegistry } from "@ferry/jetstream";
import type { AfterFinal, FinalOutcome } from "./outcome.js";

/** What {@link destinationsHook} needs. */
export interface DestinationDeps {
  js: JetStreamClient;
  registry: FunctionRegistry;
  logger: Logger;
  /** Where results too large for a message go; without it they are not chained. */
  bodies: BodyStore | undefined;
  /** Largest payload published inline; larger ones go to `bodies`. */
  maxInlineBytes: number;
}

/**
 * After-final hook: sends the result to the spec's `onSuccess` / `onFailure` destination. The
 * message id is derived from the call id, so recording an outcome twice publishes once.
 */
export function destinationsHook(deps: DestinationDeps): AfterFinal {
  const destinationOf = (inv: Invocation, out: FinalOutcome): Destination | undefined => {
    const spec = deps.registry.get(inv.function);
    return out.status === CallStatus.Succeeded ? spec?.onSuccess : spec?.onFailure;
  };
  return {
    applies: (inv, out) => destinationOf(inv, out) !== undefined,
    run: (inv, out) => sendToDestination(deps, inv, out, destinationOf(inv, out)),
  };
}

async function sendToDestination(
  deps: DestinationDeps,
  inv: Invocation,
  out: FinalOutcome,
  dest: Destination | undefined,
): Promise<void> {
  const ok = out.status === CallStatus.Succeeded;
  if (!dest) return;
  const kind = ok ? DestinationKind.Success : DestinationKind.Failure;
  const id = destinationCallId(inv.callId, kind);
  const log = deps.logger.child({ callId: inv.callId, function: inv.function, next: id });
  if (dest.function) await invokeNext(deps, dest, inv, out, id, log);
  else if (dest.topic) await publishEvent(deps, dest.topic, inv, out, id, ok);
  log.info({ destination: dest }, "result sent to destination");
}

async function invokeNext(
  deps: DestinationDeps,
  dest: Destination,
  inv: Invocation,
  out: FinalOutcome,
  id: string,
  log: Logger,
): Promise<void> {
  const target = deps.registry.get(dest.function ?? "");
  if (!target) return void log.warn({ destination: dest }, "destination function not found");
  const next: Invocation = {
    callId: id,
    function: target.name,
    queue: target.queue,
    method: "POST",
    path: "/",
    query: "",
    enqueuedAt: Date.now(),
    headers: {
      "content-type": out.contentType ?? "application/octet-stream",
      "x-ferry-source-call-id": inv.callId,
      "x-ferry-source-function": inv.function,
      "x-function-status": String(out.statusCode),
    },
    ...(inv.traceparent ? { traceparent: inv.traceparent } : {}),
  };
  const payload = await inlineOrStored(deps, next, out.body);
  await deps.js.publish(invokeSubject(target.queue, target.name), payload, {
    msgID: id,
    headers: toMsgHdrs(encodeInvocation(next)),
  });
}

/** Publishes the result as a binary-mode CloudEvent on `ferry.events.<topic>`. */
async function publishEvent(
  deps: DestinationDeps,
  topic: string,
  inv: Invocation,
  out: FinalOutcome,
  id: string,
  ok: boolean,
): Promise<void> {
  const source = `ferry/functions/${inv.function}`;
  const headers: Array<[string, string]> = [
    ["ce-specversion", "1.0"],
    ["ce-id", id],
    ["ce-source", source],
    ["ce-type", ok ? "dev.ferry.call.succeeded" : "dev.ferry.call.failed"],
    ["ce-subject", inv.callId],
    ["ce-time", new Date(out.finishedAt).toISOString()],
    ["content-type", out.contentType ?? "application/octet-stream"],
    ["x-function-status", String(out.statusCode)],
  ];
  let payload: Uint8Array = out.body;
  if (out.body.byteLength > deps.maxInlineBytes && deps.bodies) {
    await deps.bodies.put(id, out.body);
    headers.push(["Ferry-Body-Ref", id], ["Ferry-Body-Size", String(out.body.byteLength)]);
    payload = new Uint8Array(0);
  }
  await deps.js.publish(eventSubject(topic), payload, {
    msgID: `${source}:${id}`,
    headers: toMsgHdrs(headers),
  });
}

async function inlineOrStored(
  deps: DestinationDeps,
  next: Invocation,
  body: Buffer,
): Promise<Uint8Array> {
  if (body.byteLength <= deps.maxInlineBytes || !deps.bodies) return body;
  await deps.bodies.put(next.callId, body);
  next.bodyRef = next.callId;
  next.bodySize = body.byteLength;
  return new Uint8Array(0);
}
