export { createWatchdog } from "./watchdog.js";
export { loadConfig, parseCommand, parseSeconds, Mode } from "./config.js";
export { WatchdogError, WatchdogErrors, INTERNAL_HEADER } from "./errors.js";
export type { Watchdog, WatchdogDeps } from "./watchdog.js";
export type { WatchdogConfig, Command } from "./config.js";
export type { WatchdogErrorKind } from "./errors.js";
export type { Runner, RunnerLifecycle, ModeRunner } from "./runners/runner.js";
