export { createLogger, REDACTED_PATHS } from "./logger.js";
export {
  ConfigError,
  configOrExit,
  parseEnv,
  parseDuration,
  Duration,
  Bool,
  Port,
} from "./config.js";
export { onShutdown, sleep } from "./shutdown.js";
export { createRegistry, DURATION_BUCKETS, Registry } from "./metrics.js";
export { startHealthServer, renderMetrics } from "./health.js";
export { freePort } from "./net.js";
export { nowMicros } from "./clock.js";
export { createAddressPolicy, BlockedAddressError } from "./ssrf.js";
export type { LoggerOptions } from "./logger.js";
export type { Logger } from "pino";
export type { ShutdownOptions } from "./shutdown.js";
export type { HealthServer, HealthServerOptions } from "./health.js";
export type { AddressPolicy } from "./ssrf.js";
export {
  extractTrace,
  injectTrace,
  currentTrace,
  mintTraceparent,
  withSpan,
  recordSpan,
  traceIdOf,
  SpanKind,
  SpanStatusCode,
} from "./tracing.js";
export type { TraceCarrier, SpanOptions, Context as TraceContext, Span } from "./tracing.js";
export {
  counter as sharedCounter,
  histogram as sharedHistogram,
  sharedMetrics,
} from "./openfaas-metrics.js";
export type { SharedMetrics } from "./openfaas-metrics.js";
export { coalesceSocket, coalesceWrites, flushWrites } from "./coalesce.js";
export { ScriptBatch, fieldArgs, type ScriptArg, type ScriptClient } from "./script-batch.js";
export { callWhole } from "./http-call.js";
export type { CallOptions, WholeResponse } from "./http-call.js";
export type { StreamClient } from "./coalesce.js";
export { logConnectionErrors } from "./redis-errors.js";
export type { ErrorEmitter } from "./redis-errors.js";
