import { headers, type MsgHdrs } from "@nats-io/transport-node";

/** Builds NATS message headers from name/value pairs. */
export function toMsgHdrs(pairs: Iterable<readonly [string, string]>): MsgHdrs {
  const h = headers();
  for (const [name, value] of pairs) h.set(name, value);
  return h;
}

/**
 * Reads NATS message headers as name/value pairs (the first value of each name). Walks the
 * headers once: `get(name)` per name would list every name again for each.
 */
export function fromMsgHdrs(h: MsgHdrs | undefined): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (h) for (const [name, values] of h) pairs.push([name, values[0] ?? ""]);
  return pairs;
}
