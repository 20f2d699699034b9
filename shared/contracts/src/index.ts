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
} from "./subjects.js";
export { NAME_PATTERN, CALL_ID_PATTERN, FunctionName, QueueName, CallId } from "./names.js";
export { InvocationHeaders, HttpHeaders, UNFORWARDED_HEADERS } from "./headers.js";
export { Invocation, EnvelopeError, encodeInvocation, decodeInvocation } from "./invocation.js";
export { ErrorCodes, FerryError, errorBody } from "./errors.js";
export { CallStatus, CallbackState, FINAL_STATUSES, callKey, resultKey } from "./call-status.js";
export { WatchdogMode, WatchdogSpec, FunctionSpec, FunctionsFile } from "./function-spec.js";
export { parseFunctionsFile } from "./functions-file.js";
export type { ErrorKind, ErrorCode, ErrorBody } from "./errors.js";
export type { CallbackJob } from "./call-status.js";
export type { FunctionSpecInput } from "./function-spec.js";
export type { SpecIssue, ParsedFunctions } from "./functions-file.js";
