import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { JsMsg } from "@nats-io/jetstream";
import { CallStatus, InvocationHeaders } from "@ferry/contracts";
import type { BodyStore } from "@ferry/jetstream";
import type { Logger } from "pino";
import type { AfterFinal } from "./outcome.js";

/** A request body: the message payload, or a claim-checked body streamed from the object store. */
export type CallBody = Uint8Array | Readable;

/**
 * The body to send to the function. A message with `Ferry-Body-Ref` carries no payload: its body
 * is streamed from the object store, so a large body is never held whole in the worker.
 */
export async function bodyOf(msg: JsMsg, store: BodyStore | undefined): Promise<CallBody> {
  const ref = msg.headers?.get(InvocationHeaders.BodyRef);
  if (!ref) return msg.data;
  if (!store) throw new Error(`call body ${ref} is in the object store, which is not open`);
  const body = await store.get(ref);
  // Thrown, the call is not acked and comes back: a lost body is a NATS fault worth retrying.
  if (!body) throw new Error(`call body ${ref} is missing from the object store`);
  return Readable.fromWeb(body.data as WebReadableStream<Uint8Array>);
}

/**
 * After-final hook: deletes a claim-checked body once its call is final. A dead-lettered call
 * keeps its body, since a redrive runs it again; the bucket's max age sweeps it in the end.
 */
export function deleteBodyWhenFinal(store: BodyStore, logger: Logger): AfterFinal {
  return {
    applies: (inv, out) => inv.bodyRef !== undefined && out.status !== CallStatus.DeadLettered,
    async run(inv) {
      if (!inv.bodyRef) return;
      await store.delete(inv.bodyRef).catch((err: unknown) => {
        // The bucket's max age sweeps what is left behind.
        logger.warn({ err, callId: inv.callId, function: inv.function }, "cannot delete call body");
      });
    },
  };
}
