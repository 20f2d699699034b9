export { createGateway } from "./server.js";
export { gatewayApp } from "./app.js";
export { GatewayConfig, loadConfig } from "./config.js";
export type { Gateway, GatewayOptions } from "./server.js";
export type { GatewayAppOptions } from "./app.js";
