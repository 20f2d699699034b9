export { freePort, waitForPort } from "./ports.js";
export { startServer } from "./server-process.js";
export { startNats, startRedis } from "./servers.js";
export { startHttpSink } from "./sink.js";
export { spawnTs, REPO_ROOT } from "./child.js";
export type { ServerHandle, ServerRecipe } from "./server-process.js";
export type { HttpSink, SinkRequest, SinkResponder } from "./sink.js";
export type { TsProcess } from "./child.js";
