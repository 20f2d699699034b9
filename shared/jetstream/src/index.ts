export { connectNats, isConnected } from "./connect.js";
export {
  provisionStreams,
  provisionQueueConsumer,
  streamConfigs,
  DEFAULT_STREAM_SETTINGS,
  DEFAULT_CONSUMER_SETTINGS,
} from "./provision.js";
export { openFunctionRegistry } from "./registry.js";
export { openEndpointTable, openEndpointsBucket } from "./endpoints.js";
export { toMsgHdrs, fromMsgHdrs } from "./headers.js";
export { openBodyStore } from "./bodies.js";
export { Publisher, PublishError } from "./publisher.js";
export type { PublishAck, PublishOptions, PublishesWithAck } from "./publisher.js";
export type { ConnectOptions, NatsConnection } from "./connect.js";
export type { StreamSettings, ConsumerSettings } from "./provision.js";
export type { FunctionRegistry, RegistryOptions } from "./registry.js";
export type { BodyStore, BodyStoreOptions } from "./bodies.js";
export type {
  Endpoint,
  EndpointLease,
  EndpointTable,
  EndpointTableOptions,
  ScaleState,
} from "./endpoints.js";
