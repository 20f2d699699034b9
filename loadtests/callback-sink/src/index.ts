export { startCallbackSink } from "./sink.js";
export { CallbackStats } from "./stats.js";
export { verifySignature } from "./signature.js";
export { SinkConfig, loadConfig } from "./config.js";
export type { CallbackSink, CallbackSinkOptions } from "./sink.js";
