import type { Logger } from "pino";

/** A client that reports connection errors and readiness as events (an ioredis connection). */
export interface ErrorEmitter {
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "ready", listener: () => void): unknown;
}

/**
 * Logs a connection's errors instead of leaving them unhandled (ioredis then prints
 * "[ioredis] Unhandled error event" to stderr, outside the service's log). While the server is
 * away the client fails every reconnect attempt: the first error of an outage is a warning, the
 * ones after it are debug lines, and the connection's return is logged once.
 */
export function logConnectionErrors(client: ErrorEmitter, logger: Logger, name: string): void {
  let down = false;
  client.on("error", (err) => {
    if (down) return logger.debug({ connection: name, err: err.message }, "still unreachable");
    down = true;
    logger.warn({ connection: name, err: err.message }, "connection error; reconnecting");
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    logger.info({ connection: name }, "connection back");
  });
}
