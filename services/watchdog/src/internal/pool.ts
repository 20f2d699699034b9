import type { IncomingMessage } from "node:http";
import type { Logger } from "@ferry/runtime";
import { requestEnv } from "./cgi-env.js";
import { spawnFunction, type FunctionProcess, type SpawnOptions } from "./process.js";

/** Where fork and stream runners get the process for a call; each process serves one call. */
export interface ProcessSource {
  /** A process for this call, already started. */
  take(req: IncomingMessage): FunctionProcess;
  /** Starts warming processes (no-op without a pool). */
  start(): void;
  /** Stops idle processes: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

type BaseSpawn = Omit<SpawnOptions, "logStdout" | "env"> & { env: NodeJS.ProcessEnv };

/** A process per call, started when the call arrives, with the request as `Http_*` variables. */
export function createFreshSource(opts: BaseSpawn & { onStart: () => void }): ProcessSource {
  return {
    take(req) {
      opts.onStart();
      return spawnFunction({ ...opts, env: requestEnv(req, opts.env), logStdout: false });
    },
    start() {},
    stop: async () => {},
  };
}

/** Options of {@link createWarmPool}. */
export interface WarmPoolOptions extends BaseSpawn {
  size: number;
  logger: Logger;
  /** Called per process started, with whether it came from the pool or a cold start. */
  onStart: (reason: "pool" | "call") => void;
  /** Called with the number of idle processes whenever it changes. */
  onSize: (idle: number) => void;
}

/** After a pooled process fails to start at all, wait this long before trying again. */
const FAILED_START_PAUSE_MS = 1000;

/**
 * Keeps `size` processes started and blocked on stdin, so a call skips the spawn. Each process
 * is handed out once and never reused; the pool refills in the background. Pooled processes are
 * started before their request exists, so they get the base environment only: no `Http_*`.
 * An empty pool falls back to a cold start with the same environment, so that a function sees
 * one environment whether or not it got a warm process.
 */
export function createWarmPool(opts: WarmPoolOptions): ProcessSource {
  const idle: FunctionProcess[] = [];
  const log = opts.logger.child({ component: "pool" });
  let stopped = false;
  let refillQueued = false;
  let pausedUntil = 0;

  function spawnOne(reason: "pool" | "call"): FunctionProcess {
    opts.onStart(reason);
    return spawnFunction({ ...opts, logStdout: false });
  }

  function refill(): void {
    refillQueued = false;
    if (stopped || Date.now() < pausedUntil) return;
    while (idle.length < opts.size) {
      const proc = spawnOne("pool");
      idle.push(proc);
      void proc.exited.then((exit) => {
        if (!exit.error) return;
        // A start failure (ENOENT…) would otherwise respawn in a tight loop.
        const at = idle.indexOf(proc);
        if (at !== -1) idle.splice(at, 1);
        pausedUntil = Date.now() + FAILED_START_PAUSE_MS;
        log.error({ err: exit.error }, "pooled function process failed to start");
        opts.onSize(idle.length);
        setTimeout(scheduleRefill, FAILED_START_PAUSE_MS).unref();
      });
    }
    opts.onSize(idle.length);
  }

  // A spawn blocks the event loop for about a millisecond (fork of a large process). Refilling
  // only at half empty, in one batch, keeps that pause off most calls: the median call never
  // waits for a spawn, at the price of one longer pause per batch. setImmediate puts the batch
  // after the current response is written, not before it.
  function scheduleRefill(): void {
    if (refillQueued || stopped || idle.length > opts.size / 2) return;
    refillQueued = true;
    setImmediate(refill);
  }

  return {
    take() {
      const proc = idle.shift() ?? spawnOne("call");
      opts.onSize(idle.length);
      scheduleRefill();
      return proc;
    },
    start: scheduleRefill,
    async stop(graceMs) {
      stopped = true;
      const procs = idle.splice(0);
      opts.onSize(0);
      for (const proc of procs) {
        // Unread output would hold the stdio open, and with it the exit we wait for.
        proc.stdout().destroy();
        proc.kill("SIGTERM");
      }
      const timer = setTimeout(() => procs.forEach((p) => p.kill("SIGKILL")), graceMs);
      await Promise.all(procs.map((p) => p.exited));
      clearTimeout(timer);
    },
  };
}
