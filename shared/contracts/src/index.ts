export {
  Streams,
  Subjects,
  FUNCTIONS_BUCKET,
  ENDPOINTS_BUCKET,
  ProviderSubjects,
  CALLBACK_QUEUE,
  DEFAULT_QUEUE,
  invokeSubject,
  dlqSubject,
  eventSubject,
  queueConsumerName,
  queueFilterSubject,
  PARKED_QUEUE,
  cancelSubject,
} from "./subjects.js";
export { NAME_PATTERN, CALL_ID_PATTERN, FunctionName, QueueName, CallId } from "./names.js";
export { InvocationHeaders, HttpHeaders, UNFORWARDED_HEADERS } from "./headers.js";
export { DlqHeaders } from "./headers.js";
export {
  Invocation,
  EnvelopeError,
  encodeInvocation,
  decodeInvocation,
  startTimeNanos,
} from "./invocation.js";
export { ErrorCodes, FerryError, errorBody } from "./errors.js";
export { CallStatus, CallbackState, FINAL_STATUSES, callKey, resultKey } from "./call-status.js";
export { CALLBACK_BACKOFF_TYPE, CALLBACK_JOB_ATTEMPTS } from "./call-status.js";
export { cancelKey, idempotencyKey } from "./call-status.js";
export { WatchdogMode, WatchdogSpec, FunctionSpec, FunctionsFile } from "./function-spec.js";
export { RetryPolicy, RetryBackoff, RetryJitter } from "./function-spec.js";
export { FunctionAuth, SecretRef, FunctionRateLimit } from "./function-spec.js";
export { parseFunctionsFile } from "./functions-file.js";
export {
  TOPIC_PATTERN,
  Topic,
  TopicPattern,
  topicMatches,
  topicOf,
  EXTENSION_NAME,
  CloudEvent,
  CE_PREFIX,
  EventHeaders,
  EventHttpHeaders,
  encodeEvent,
  decodeEvent,
  eventKey,
  eventMsgId,
  eventCallId,
} from "./events.js";
export { TopicName, Destination, DestinationKind, destinationCallId } from "./destinations.js";
export { BODIES_BUCKET } from "./claim-check.js";
export type { ErrorKind, ErrorCode, ErrorBody } from "./errors.js";
export type { CallbackJob } from "./call-status.js";
export type { FunctionSpecInput } from "./function-spec.js";
export type { SpecIssue, ParsedFunctions } from "./functions-file.js";
export type { CloudEventInput } from "./events.js";
export {
  RECENT_CALLS_KEY,
  RECENT_CALLS_MAX,
  timelineKey,
  STATS_BUCKET_MS,
  STATS_TTL_SECONDS,
  statsKey,
  latencyBucket,
  latencyBucketMs,
  CONNECTORS_STATUS_BUCKET,
} from "./dashboard.js";
export type { TimelineEntry, ConnectorHeartbeat } from "./dashboard.js";
