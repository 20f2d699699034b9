/** NATS header names of the invocation envelope. */
export const InvocationHeaders = {
  CallId: "Ferry-Call-Id",
  Function: "Ferry-Function",
  Queue: "Ferry-Queue",
  Method: "Ferry-Method",
  Path: "Ferry-Path",
  Query: "Ferry-Query",
  CallbackUrl: "Ferry-Callback-Url",
  EnqueuedAt: "Ferry-Enqueued-At",
  Deadline: "Ferry-Deadline",
  Traceparent: "traceparent",
  Tracestate: "tracestate",
  /** Prefix of each forwarded request header: `Ferry-Fwd-content-type`. */
  ForwardPrefix: "Ferry-Fwd-",
  /** Claim check: the body is in the `ferry_bodies` object store under this name. */
  BodyRef: "Ferry-Body-Ref",
  /** Size in bytes of a claim-checked body. */
  BodySize: "Ferry-Body-Size",
  /** JetStream's dedupe header; carries the call id. */
  MsgId: "Nats-Msg-Id",
} as const;

/** HTTP headers Ferry reads from callers and writes to functions and callback receivers. */
export const HttpHeaders = {
  CallId: "x-call-id",
  CallbackUrl: "x-callback-url",
  StartTime: "x-start-time",
  FunctionName: "x-function-name",
  FunctionStatus: "x-function-status",
  DurationSeconds: "x-duration-seconds",
  /** Set by the watchdog on errors of its own, so that workers can tell them from function errors. */
  Internal: "x-ferry-internal",
  Attempt: "x-ferry-attempt",
  MaxAttempts: "x-ferry-max-attempts",
  IdempotencyKey: "idempotency-key",
} as const;

/**
 * Request headers never forwarded to functions: hop-by-hop headers (RFC 9110 §7.6.1), those the
 * envelope carries itself, and caller credentials' transport details.
 */
export const UNFORWARDED_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "expect",
  HttpHeaders.CallbackUrl,
  HttpHeaders.CallId,
  "traceparent",
  "tracestate",
]);
