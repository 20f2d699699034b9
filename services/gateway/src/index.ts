export { createGateway } from "./server.js";
export { gatewayApp } from "./app.js";
export { GatewayConfig, loadConfig, AUTH_VARIABLES } from "./config.js";
export { authFromConfig } from "./credentials.js";
export { PROTECTED_PREFIXES, BASIC_CHALLENGE } from "./auth.js";
export type { Gateway, GatewayOptions, ServerTimeouts } from "./server.js";
export type { AuthOptions } from "./auth.js";
export type { GatewayAppOptions } from "./app.js";
