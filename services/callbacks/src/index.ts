export { createCallbackWorker } from "./worker.js";
export { CallbackSender, DeliveryError } from "./deliver.js";
export { CallbacksConfig, loadConfig } from "./config.js";
export type { CallbackWorker, CallbackWorkerOptions } from "./worker.js";
