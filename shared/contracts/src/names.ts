import { z } from "zod";

/**
 * Function and queue names: lower-case letters, digits and dashes, starting with a letter, at
 * most 63 characters (a DNS label), so that they are safe in NATS subjects, Redis keys, URLs and
 * Kubernetes names alike.
 */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** A function name. */
export const FunctionName = z
  .string()
  .regex(
    NAME_PATTERN,
    "must be lower-case letters, digits and dashes, starting with a letter (max 63)",
  );
export type FunctionName = z.infer<typeof FunctionName>;

/** A queue name. */
export const QueueName = FunctionName;

/** Call ids: the caller may choose one; letters, digits, `-`, `_`, `.`, at most 128 characters. */
export const CALL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A call id. */
export const CallId = z
  .string()
  .regex(CALL_ID_PATTERN, "must be 1-128 letters, digits, '.', '_' or '-'");
export type CallId = z.infer<typeof CallId>;
