export { createQueueWorker } from "./worker.js";
export { WorkerConfig, loadConfig } from "./config.js";
export type { QueueWorker, QueueWorkerOptions } from "./worker.js";
