export { createProvider } from "./provider.js";
export { startReplica, secretEnv } from "./replica.js";
export { desiredReplicas } from "./autoscale.js";
export { ProviderConfig, loadConfig } from "./config.js";
export type { Provider, ProviderOptions } from "./provider.js";
export type { Replica, ReplicaOptions } from "./replica.js";
export type { ScaleInput } from "./autoscale.js";
