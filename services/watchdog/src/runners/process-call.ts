import type { IncomingMessage } from "node:http";
import type { Logger } from "@ferry/runtime";
import { WatchdogError } from "../errors.js";
import type { ProcessSource } from "../internal/pool.js";
import type { Exit, FunctionProcess } from "../internal/process.js";
import type { WatchdogResponse } from "./runner.js";

/** What fork and stream runners share: the call's deadline, client aborts, and exit handling. */
export interface ProcessCall {
  req: IncomingMessage;
  res: WatchdogResponse;
  source: ProcessSource;
  timeoutMs: number;
  logger: Logger;
  /** Called once with the call's process, before its input is fed: attach to its stdout here. */
  started: (proc: FunctionProcess) => void;
  /** Called once the process exited with code 0 and the response is still ours to finish. */
  succeeded: () => void;
}

/**
 * Takes a process for the call, feeds it the request body and settles the call: a timeout
 * answers 504 and kills the process group; a client that goes away kills it too; a failed
 * start or a non-zero exit answers 500 (or cuts a response already under way, the only signal
 * left after headers). A process that arrives after the call is over is killed unused.
 */
export function runProcessCall(call: ProcessCall): void {
  const { req, res } = call;
  let proc: FunctionProcess | undefined;
  const timer =
    call.timeoutMs > 0 ? setTimeout(() => onTimeout(call, proc), call.timeoutMs) : undefined;
  res.once("close", () => {
    if (!res.writableFinished) proc?.kill("SIGKILL");
  });
  call.source.take(req, (taken) => {
    proc = taken;
    if (res.writableEnded || res.destroyed) {
      clearTimeout(timer);
      taken.stdout().destroy();
      return taken.kill("SIGKILL");
    }
    call.started(taken);
    req.pipe(taken.stdin);
    void taken.exited.then((exit) => {
      clearTimeout(timer);
      if (res.writableEnded || res.destroyed) return;
      if (exit.error === undefined && exit.code === 0) return call.succeeded();
      res.fail(failure(call, taken, exit));
    });
  });
}

function onTimeout(call: ProcessCall, proc: FunctionProcess | undefined): void {
  call.logger.warn({ pid: proc?.pid, timeoutMs: call.timeoutMs }, "function timed out, killing it");
  proc?.kill("SIGKILL");
  call.res.fail(
    new WatchdogError("Timeout", `function did not finish within ${call.timeoutMs} ms`),
  );
}

function failure(call: ProcessCall, proc: FunctionProcess, exit: Exit): WatchdogError {
  if (exit.error) {
    call.logger.error({ err: exit.error }, "function process failed to start");
    return new WatchdogError("Internal", `function process failed to start: ${exit.error.message}`);
  }
  const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
  // The function's stderr is already in the log, line by line, under the same pid.
  call.logger.error(
    { pid: proc.pid, code: exit.code, signal: exit.signal },
    "function exited with an error",
  );
  return new WatchdogError(
    "FunctionFailed",
    `function exited with ${how}; its stderr is in the watchdog log`,
  );
}
