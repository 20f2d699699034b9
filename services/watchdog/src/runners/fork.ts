import type { IncomingMessage } from "node:http";
import type { Logger } from "@ferry/runtime";
import { rawHeader } from "../internal/headers.js";
import type { ProcessSource } from "../internal/pool.js";
import type { FunctionProcess } from "../internal/process.js";
import { runProcessCall } from "./process-call.js";
import type { ModeRunner } from "./runner.js";

/** Options of {@link createForkRunner} and the stream runner. */
export interface ProcessRunnerOptions {
  source: ProcessSource;
  /** Response Content-Type (`content_type`); default the request's, else octet-stream. */
  contentType: string | undefined;
  logger: Logger;
}

/**
 * fork mode (the classic watchdog, of-watchdog `serializing`): a process per call, the body on
 * its stdin, its whole stdout as the response once it exits 0. Buffering the output is what lets
 * a non-zero exit still become a 500; use stream mode for large or incremental output.
 */
export function createForkRunner(opts: ProcessRunnerOptions): ModeRunner {
  const logger = opts.logger.child({ component: "fork" });
  return {
    run(req, res, timeoutMs) {
      const chunks: Buffer[] = [];
      const started = (proc: FunctionProcess): void => {
        proc.stdout().on("data", (chunk: Buffer) => chunks.push(chunk));
      };
      const succeeded = (): void => {
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        res.writeHead(200, {
          "content-type": responseType(req, opts.contentType),
          "content-length": body.length,
          "x-duration-seconds": res.durationSeconds(),
        });
        res.end(body);
      };
      runProcessCall({ req, res, source: opts.source, timeoutMs, logger, started, succeeded });
    },
    start: () => opts.source.start(),
    ready: () => true,
    stop: (graceMs) => opts.source.stop(graceMs),
  };
}

/** The classic watchdog's rule: the configured type, else the request's, else octet-stream. */
export function responseType(req: IncomingMessage, configured: string | undefined): string {
  return configured ?? rawHeader(req.rawHeaders, "content-type") ?? "application/octet-stream";
}
