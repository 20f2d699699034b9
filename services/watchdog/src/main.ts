import { ConfigError, createLogger, onShutdown } from "@ferry/runtime";
import { startSdk } from "@ferry/runtime/otel";
import { loadConfig, type WatchdogConfig } from "./config.js";
import { createWatchdog } from "./watchdog.js";

/** Time allowed on top of the probe wait and the drain for the function to exit on SIGTERM. */
const CHILD_GRACE_MS = 5_000;

function configOrExit(): WatchdogConfig {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`watchdog: ${err.message}\n`);
    process.exit(1);
  }
}

const config = configOrExit();
const logger = createLogger({ name: "watchdog" });
const otel = await startSdk("watchdog");
const watchdog = createWatchdog(config, { logger, env: process.env, tracing: otel.enabled });
// However the process ends (a second signal, the shutdown deadline), no function outlives it.
process.on("exit", () => watchdog.kill());
onShutdown(() => watchdog.stop().finally(() => otel.shutdown()), {
  logger,
  deadlineMs: config.healthcheck_interval + 2 * config.write_timeout + CHILD_GRACE_MS,
});
try {
  await watchdog.start();
} catch (err) {
  logger.fatal({ err }, "watchdog failed to start");
  process.exit(1);
}
