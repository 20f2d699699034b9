export { createCallbackWorker } from "./worker.js";
export { CallbackSender, DeliveryError } from "./deliver.js";
export { CallbacksConfig, loadConfig, signingSecretsOf } from "./config.js";
export {
  DEFAULT_RETRY_POLICY,
  RetryableDeliveryError,
  backoffDelay,
  parseRetryAfter,
} from "./retry.js";
export { createSigner } from "./signing.js";
export type { CallbackWorker, CallbackWorkerOptions } from "./worker.js";
export type { SenderOptions } from "./deliver.js";
export type { RetryPolicy } from "./retry.js";
export type { Signer } from "./signing.js";
