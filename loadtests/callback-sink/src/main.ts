import { ConfigError } from "@ferry/runtime";
import { loadConfig } from "./config.js";
import { startCallbackSink } from "./sink.js";

let cfg;
try {
  cfg = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`callback-sink: ${err.message}\n`);
  process.exit(1);
}
const sink = await startCallbackSink({
  port: cfg.PORT,
  host: cfg.HOST,
  ...(cfg.CALLBACK_SECRETS ? { secrets: cfg.CALLBACK_SECRETS } : {}),
});
process.stdout.write(`callback sink on ${sink.url} (GET /stats, GET /metrics)\n`);
const stop = (): void => void sink.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
