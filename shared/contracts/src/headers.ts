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
  /** The same instant in microseconds since the epoch. */
  EnqueuedAtUs: "Ferry-Enqueued-At-Us",
  Deadline: "Ferry-Deadline",
  Traceparent: "traceparent",
  Tracestate: "tracestate",
  /** Prefix of each forwarded request header: `Ferry-Fwd-content-type`. */
  ForwardPrefix: "Ferry-Fwd-",
  /** Claim check: the body is in the `ferry_bodies` object store under this name. */
  BodyRef: "Ferry-Body-Ref",
  /** Size in bytes of a claim-checked body. */
  BodySize: "Ferry-Body-Size",
  /** Earliest time (ms since the epoch) the call may run (`X-Delay` / `X-Not-Before`). */
  NotBefore: "Ferry-Not-Before",
  /** Attempts made before this message was (re)published, e.g. by a parked retry. */
  AttemptsBefore: "Ferry-Attempts-Before",
  /** How many times the call was redriven from the dead-letter queue. */
  Redrives: "Ferry-Redrives",
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
  /** Answer header: the request repeated an `Idempotency-Key`; nothing new was queued. */
  Duplicate: "x-ferry-duplicate",
  /** Hold the call this long (`30`, `30s`, `5m`: bare numbers are seconds). */
  Delay: "x-delay",
  /** Hold the call until this time (HTTP date, ISO 8601 or Unix seconds). */
  NotBefore: "x-not-before",
  /** Sent by a function with a 429 or 503: when to try again (seconds or HTTP date). */
  RetryAfter: "retry-after",
} as const;

/** NATS headers a dead letter carries beside the invocation's own. */
export const DlqHeaders = {
  Reason: "Ferry-Dlq-Reason",
  StatusCode: "Ferry-Dlq-Status-Code",
  Error: "Ferry-Dlq-Error",
  Attempts: "Ferry-Dlq-Attempts",
  LastAttemptAt: "Ferry-Dlq-Last-Attempt-At",
  DeadAt: "Ferry-Dlq-Dead-At",
  Worker: "Ferry-Dlq-Worker",
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
  HttpHeaders.Delay,
  HttpHeaders.NotBefore,
  "traceparent",
  "tracestate",
]);
