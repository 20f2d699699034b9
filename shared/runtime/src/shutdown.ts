import type { Logger } from "pino";

/** Options of {@link onShutdown}. */
export interface ShutdownOptions {
  logger: Logger;
  /** Longest time the whole shutdown may take before the process exits anyway. Default 30 s. */
  deadlineMs?: number;
  /** Signals that start the shutdown. Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
}

/**
 * Runs `stop` once on the first signal, then exits 0 (or 1 if it threw or overran the deadline).
 * A second signal exits at once.
 */
export function onShutdown(stop: () => Promise<void>, opts: ShutdownOptions): void {
  const deadlineMs = opts.deadlineMs ?? 30_000;
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      opts.logger.warn({ signal }, "second signal, exiting now");
      process.exit(1);
    }
    stopping = true;
    opts.logger.info({ signal, deadlineMs }, "shutting down");
    const timer = setTimeout(() => {
      opts.logger.error({ deadlineMs }, "shutdown deadline passed, exiting");
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    stop().then(
      () => {
        opts.logger.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        opts.logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  for (const signal of opts.signals ?? ["SIGTERM", "SIGINT"]) process.on(signal, handler);
}

/** Resolves after `ms`; the timer does not keep the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
