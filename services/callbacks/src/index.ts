export { createCallbackWorker } from "./worker.js";
export { CallbackSender, DeliveryError, RefusedCallbackError, callbackOf } from "./deliver.js";
export { CallbackDelivery, callbackStateRecorder } from "./delivery.js";
export {
  CallbackDeliveryConfig,
  CallbacksConfig,
  deliveryOptionsOf,
  loadConfig,
  signingSecretsOf,
} from "./config.js";
export {
  DEFAULT_RETRY_POLICY,
  RetryableDeliveryError,
  backoffDelay,
  parseRetryAfter,
} from "./retry.js";
export { createSigner } from "./signing.js";
export type { CallbackWorker, CallbackWorkerOptions } from "./worker.js";
export type { Callback, DeliveryOptions, SenderOptions } from "./deliver.js";
export type { AttemptResult, CallbackStateRecorder, DeliveryOutcome } from "./delivery.js";
export type { RetryPolicy } from "./retry.js";
export type { Signer } from "./signing.js";
