import { ServerResponse, type IncomingMessage } from "node:http";
import { sendError, type WatchdogError } from "../errors.js";

/**
 * The server's response class. Holding the start time on the response itself spares the hot
 * path a closure or a side map per request.
 */
export class WatchdogResponse<
  Req extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Req> {
  /** `performance.now()` when the request arrived. */
  startedAt = 0;

  /** Seconds since the request arrived, as sent in `X-Duration-Seconds`. */
  durationSeconds(): string {
    return ((performance.now() - this.startedAt) / 1000).toFixed(6);
  }

  /** Answers with a watchdog error (or cuts the response if it has started). */
  fail(err: WatchdogError): void {
    sendError(this, err, this.durationSeconds());
  }
}

/**
 * One way of serving a call (of-watchdog's `executor/` runners). `run` returns nothing: the call
 * is over when the response closes, which the server already watches, so a promise per call
 * would only cost an allocation.
 */
export interface Runner {
  /** Serves one call; must end or destroy `res`, within `timeoutMs` when it is above 0. */
  run(req: IncomingMessage, res: WatchdogResponse, timeoutMs: number): void;
}

/** What a runner owns beyond its calls: the function process, a pool, readiness. */
export interface RunnerLifecycle {
  /** Resolves when calls can be served (the upstream answers, the pool is filling). */
  start(): Promise<void>;
  /** Whether calls can be served now. */
  ready(): boolean;
  /** A deeper check for `/_/ready` (http mode's `ready_path`); defaults to {@link ready}. */
  checkReady?(): Promise<boolean>;
  /** Forwards SIGTERM to function processes and waits for them, killing them after `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

/** A runner and its lifecycle, as built by each mode's factory. */
export type ModeRunner = Runner & RunnerLifecycle;
