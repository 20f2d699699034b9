import { headers, type MsgHdrs } from "@nats-io/transport-node";

/** Builds NATS message headers from name/value pairs. */
export function toMsgHdrs(pairs: Iterable<readonly [string, string]>): MsgHdrs {
  const h = headers();
  for (const [name, value] of pairs) h.set(name, value);
  return h;
}

/** Reads NATS message headers as name/value pairs (the first value of each name). */
export function* fromMsgHdrs(h: MsgHdrs | undefined): Generator<[string, string]> {
  if (!h) return;
  for (const name of h.keys()) yield [name, h.get(name)];
}
