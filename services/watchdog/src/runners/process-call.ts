import type { IncomingMessage } from "node:http";
import type { Logger } from "@ferry/runtime";
import { WatchdogError } from "../errors.js";
import type { Exit, FunctionProcess } from "../internal/process.js";
import type { WatchdogResponse } from "./runner.js";

/** What fork and stream runners share: the call's deadline, client aborts, and exit handling. */
export interface ProcessCall {
  req: IncomingMessage;
  res: WatchdogResponse;
  proc: FunctionProcess;
  timeoutMs: number;
  logger: Logger;
  /** Called once the process exited with code 0 and the response is still ours to finish. */
  succeeded: () => void;
}

/**
 * Feeds the request body to the process and settles the call: a timeout answers 504 and kills
 * the process group; a client that goes away kills it too; a failed start or a non-zero exit
 * answers 500 (or cuts a response already under way, the only signal left after headers).
 */
export function runProcessCall(call: ProcessCall): void {
  const { req, res, proc } = call;
  req.pipe(proc.child.stdin);
  const timer = call.timeoutMs > 0 ? setTimeout(onTimeout, call.timeoutMs, call) : undefined;
  res.once("close", () => {
    if (!res.writableFinished) proc.kill("SIGKILL");
  });
  void proc.exited.then((exit) => {
    clearTimeout(timer);
    if (res.writableEnded || res.destroyed) return;
    if (exit.error === undefined && exit.code === 0) return call.succeeded();
    res.fail(failure(call, exit));
  });
}

function onTimeout(call: ProcessCall): void {
  call.logger.warn(
    { pid: call.proc.child.pid, timeoutMs: call.timeoutMs },
    "function timed out, killing it",
  );
  call.proc.kill("SIGKILL");
  call.res.fail(
    new WatchdogError("Timeout", `function did not finish within ${call.timeoutMs} ms`),
  );
}

function failure(call: ProcessCall, exit: Exit): WatchdogError {
  const pid = call.proc.child.pid;
  if (exit.error) {
    call.logger.error({ err: exit.error }, "function process failed to start");
    return new WatchdogError("Internal", `function process failed to start: ${exit.error.message}`);
  }
  const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
  // The function's stderr is already in the log, line by line, under the same pid.
  call.logger.error({ pid, code: exit.code, signal: exit.signal }, "function exited with an error");
  return new WatchdogError(
    "FunctionFailed",
    `function exited with ${how}; its stderr is in the watchdog log`,
  );
}
