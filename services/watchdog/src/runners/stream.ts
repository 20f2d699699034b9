import type { ModeRunner } from "./runner.js";
import { responseType, type ProcessRunnerOptions } from "./fork.js";
import { runProcessCall } from "./process-call.js";
import type { FunctionProcess } from "../internal/process.js";

/**
 * stream mode (of-watchdog `streaming`): a process per call with its stdout piped to the client
 * as it is written, under backpressure, so output of any size passes in constant memory. The
 * status is sent with the first byte, so a failure after that cuts the response short instead.
 */
export function createStreamRunner(opts: ProcessRunnerOptions): ModeRunner {
  const logger = opts.logger.child({ component: "stream" });
  return {
    run(req, res, timeoutMs) {
      res.statusCode = 200;
      res.setHeader("content-type", responseType(req, opts.contentType));
      const started = (proc: FunctionProcess): void => {
        const stdout = proc.stdout();
        // Registered before pipe(), so it runs before the first write sends the headers.
        stdout.once("data", () => res.setHeader("x-duration-seconds", res.durationSeconds()));
        stdout.pipe(res, { end: false });
      };
      const succeeded = (): void => {
        if (!res.headersSent) res.setHeader("x-duration-seconds", res.durationSeconds());
        res.end();
      };
      runProcessCall({ req, res, source: opts.source, timeoutMs, logger, started, succeeded });
    },
    start: () => opts.source.start(),
    ready: () => true,
    stop: (graceMs) => opts.source.stop(graceMs),
  };
}
