export { createQueueWorker, DEFAULT_RETRY } from "./worker.js";
export { backoffMs, parseRetryAfter, resolvePolicy } from "./retry.js";
export { WorkerConfig, loadConfig } from "./config.js";
export type { QueueWorker, QueueWorkerOptions } from "./worker.js";
export type { ResolvedRetryPolicy } from "./retry.js";
