import { z } from "zod";
import { InvocationHeaders as H } from "./headers.js";
import { CallId, FunctionName, QueueName } from "./names.js";

/** The decoded metadata of one invocation; the message payload is the raw request body. */
export const Invocation = z.object({
  /** Unique id of the call; also the message's `Nats-Msg-Id`. */
  callId: CallId,
  /** Function to run. */
  function: FunctionName,
  /** Queue the call waits in. */
  queue: QueueName,
  /** HTTP method of the original request. */
  method: z.string().regex(/^[A-Z]{1,16}$/),
  /** Path below the function, starting with `/`. */
  path: z.string().startsWith("/"),
  /** Raw query string without `?`, possibly empty. */
  query: z.string(),
  /** Where the result is POSTed, if anywhere. */
  callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** When the gateway accepted the call (ms since the epoch). */
  enqueuedAt: z.number().int().nonnegative(),
  /** The same instant to the microsecond, for `X-Start-Time`; absent from older gateways. */
  enqueuedAtUs: z.number().int().nonnegative().optional(),
  /** After this time (ms since the epoch) the call is not run. */
  deadline: z.number().int().nonnegative().optional(),
  /** W3C trace context of the caller or the gateway. */
  traceparent: z.string().optional(),
  tracestate: z.string().optional(),
  /** Name of the body in the `ferry_bodies` object store when it was too large for the message. */
  bodyRef: z.string().min(1).optional(),
  /** Size in bytes of a claim-checked body. */
  bodySize: z.number().int().nonnegative().optional(),
  /** Earliest time (ms since the epoch) the call may run. */
  notBefore: z.number().int().nonnegative().optional(),
  /** Attempts already made before this message was published (parked retries). */
  attemptsBefore: z.number().int().nonnegative().optional(),
  /** Times the call was redriven from the dead-letter queue. */
  redrives: z.number().int().nonnegative().optional(),
  /** Request headers forwarded to the function, lower-case names. */
  headers: z.record(z.string(), z.string()),
});
export type Invocation = z.infer<typeof Invocation>;

/** Thrown when message headers do not decode into an {@link Invocation}. */
export class EnvelopeError extends Error {
  override name = "EnvelopeError";
  readonly code = "FERRY_ERR_BAD_ENVELOPE";
}

const HEADER_VALUE = /^[^\r\n]*$/;

/** Encodes an invocation's metadata as NATS header pairs. Rejects values with CR or LF. */
export function encodeInvocation(inv: Invocation): Array<[string, string]> {
  const pairs: Array<[string, string]> = [
    [H.CallId, inv.callId],
    [H.Function, inv.function],
    [H.Queue, inv.queue],
    [H.Method, inv.method],
    [H.Path, inv.path],
    [H.Query, inv.query],
    [H.EnqueuedAt, String(inv.enqueuedAt)],
  ];
  if (inv.enqueuedAtUs !== undefined) pairs.push([H.EnqueuedAtUs, String(inv.enqueuedAtUs)]);
  if (inv.callbackUrl !== undefined) pairs.push([H.CallbackUrl, inv.callbackUrl]);
  if (inv.deadline !== undefined) pairs.push([H.Deadline, String(inv.deadline)]);
  if (inv.traceparent !== undefined) pairs.push([H.Traceparent, inv.traceparent]);
  if (inv.notBefore !== undefined) pairs.push([H.NotBefore, String(inv.notBefore)]);
  if (inv.attemptsBefore !== undefined) pairs.push([H.AttemptsBefore, String(inv.attemptsBefore)]);
  if (inv.redrives !== undefined) pairs.push([H.Redrives, String(inv.redrives)]);
  if (inv.tracestate !== undefined) pairs.push([H.Tracestate, inv.tracestate]);
  if (inv.bodyRef !== undefined) pairs.push([H.BodyRef, inv.bodyRef]);
  if (inv.bodySize !== undefined) pairs.push([H.BodySize, String(inv.bodySize)]);
  for (const [name, value] of Object.entries(inv.headers)) {
    pairs.push([H.ForwardPrefix + name, value]);
  }
  for (const [name, value] of pairs) {
    if (!HEADER_VALUE.test(value)) throw new EnvelopeError(`header ${name} contains CR or LF`);
  }
  return pairs;
}

/** Decodes NATS header pairs (as produced by {@link encodeInvocation}) into an invocation. */
export function decodeInvocation(pairs: Iterable<readonly [string, string]>): Invocation {
  const fields: Record<string, string> = {};
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) {
    if (name.startsWith(H.ForwardPrefix)) headers[name.slice(H.ForwardPrefix.length)] = value;
    else fields[name] = value;
  }
  const result = Invocation.safeParse({
    callId: fields[H.CallId],
    function: fields[H.Function],
    queue: fields[H.Queue],
    method: fields[H.Method],
    path: fields[H.Path],
    query: fields[H.Query] ?? "",
    callbackUrl: fields[H.CallbackUrl],
    enqueuedAt: toInt(fields[H.EnqueuedAt]),
    enqueuedAtUs: toInt(fields[H.EnqueuedAtUs]),
    deadline: toInt(fields[H.Deadline]),
    traceparent: fields[H.Traceparent],
    tracestate: fields[H.Tracestate],
    bodyRef: fields[H.BodyRef],
    bodySize: toInt(fields[H.BodySize]),
    notBefore: toInt(fields[H.NotBefore]),
    attemptsBefore: toInt(fields[H.AttemptsBefore]),
    redrives: toInt(fields[H.Redrives]),
    headers,
  });
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new EnvelopeError(`bad invocation envelope: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return result.data;
}

/**
 * `X-Start-Time`: when the gateway accepted the call, in Unix nanoseconds as OpenFaaS sends it;
 * to the microsecond when `us` is known, else to the millisecond.
 */
export function startTimeNanos(ms: number, us?: number): string {
  return us === undefined ? `${ms}000000` : `${us}000`;
}

function toInt(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}
