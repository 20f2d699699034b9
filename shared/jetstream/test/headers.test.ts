import { expect, test } from "vitest";
import { headers } from "@nats-io/transport-node";
import { MsgHdrsImpl } from "@nats-io/nats-core/internal";
import { decodeInvocation, encodeInvocation, type Invocation } from "@ferry/contracts";
import { fromMsgHdrs, toMsgHdrs } from "../src/headers.js";

test("headers read back as the pairs written, in order, with the first value of a repeated name", () => {
  const h = headers();
  h.append("Ferry-Call-Id", "c1");
  h.append("Ferry-H-Accept", "text/plain");
  h.append("Ferry-H-Accept", "application/json");
  h.set("Ferry-Function", "echo");
  expect(fromMsgHdrs(h)).toEqual([
    ["Ferry-Call-Id", "c1"],
    ["Ferry-H-Accept", "text/plain"],
    ["Ferry-Function", "echo"],
  ]);
  expect(fromMsgHdrs(undefined)).toEqual([]);
});

test("an invocation survives the trip through NATS header bytes", () => {
  const inv: Invocation = {
    callId: "01JCALL",
    function: "echo",
    queue: "default",
    method: "POST",
    path: "/a/b",
    query: "x=1&y=2",
    callbackUrl: "http://receiver.example/cb",
    enqueuedAt: 1_764_886_000_000,
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    headers: { "content-type": "text/plain", "x-user": "a: b" },
  };
  const written = toMsgHdrs(encodeInvocation(inv)) as MsgHdrsImpl;
  const wire = MsgHdrsImpl.decode(written.encode());
  expect(decodeInvocation(fromMsgHdrs(wire))).toEqual(inv);
});
