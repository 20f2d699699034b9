import { z } from "zod";
import { CALL_ID_PATTERN, FunctionName } from "./names.js";

/** An event topic: dot-separated tokens of letters, digits, `_` and `-` (NATS subject tokens). */
export const TopicName = z
  .string()
  .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "must be dot-separated letters, digits, _ or -")
  .max(200);

/** Where a finished call's result goes without a callback receiver: a function or a topic. */
export const Destination = z
  .strictObject({
    /** Invoke this function asynchronously with the result as its body. */
    function: FunctionName.optional(),
    /** Publish the result as a CloudEvent on `ferry.events.<topic>`. */
    topic: TopicName.optional(),
  })
  .refine((d) => (d.function === undefined) !== (d.topic === undefined), {
    message: "set exactly one of `function` and `topic`",
  });
export type Destination = z.infer<typeof Destination>;

/** Which destination of a spec fired. */
export const DestinationKind = { Success: "on-success", Failure: "on-failure" } as const;
export type DestinationKind = (typeof DestinationKind)[keyof typeof DestinationKind];

/**
 * Call id of the call a destination starts: `<callId>.<kind>`, so that a worker that records the
 * same outcome twice publishes a duplicate that JetStream drops. Ids too long for the suffix are
 * cut (no hashing here: contracts stay free of Node-only modules).
 */
export function destinationCallId(callId: string, kind: DestinationKind): string {
  const suffix = `.${kind}`;
  const id = `${callId}${suffix}`;
  return CALL_ID_PATTERN.test(id) ? id : callId.slice(0, 128 - suffix.length) + suffix;
}
