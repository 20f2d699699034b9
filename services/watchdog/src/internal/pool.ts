import type { IncomingMessage } from "node:http";
import type { Logger } from "@ferry/runtime";
import { requestVars } from "./cgi-env.js";
import type { FunctionProcess } from "./process.js";
import type { ProcessStarter } from "./spawner.js";

/** Where fork and stream runners get the process for a call; each process serves one call. */
export interface ProcessSource {
  /** A started process for this call: handed to `ready` at once when one is waiting, else later. */
  take(req: IncomingMessage, ready: (proc: FunctionProcess) => void): void;
  /** Opens the starter and starts warming processes. */
  start(): Promise<void>;
  /** Stops idle processes (SIGTERM, then SIGKILL after `graceMs`), then the starter. */
  stop(graceMs: number): Promise<void>;
}

/** A process per call, started when the call arrives, with the request as `Http_*` variables. */
export function createFreshSource(opts: {
  starter: ProcessStarter;
  onStart: () => void;
}): ProcessSource {
  return {
    take(req, ready) {
      opts.onStart();
      opts.starter.start(requestVars(req), ready);
    },
    start: () => opts.starter.open(),
    stop: () => opts.starter.close(),
  };
}

/** Options of {@link createWarmPool}. */
export interface WarmPoolOptions {
  starter: ProcessStarter;
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
  let starting = 0;
  let stopped = false;
  let refillQueued = false;
  let pausedUntil = 0;

  function onReady(proc: FunctionProcess): void {
    starting--;
    if (stopped) {
      proc.stdout().destroy();
      proc.kill("SIGTERM");
      return;
    }
    idle.push(proc);
    opts.onSize(idle.length);
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

  function refill(): void {
    refillQueued = false;
    if (stopped || Date.now() < pausedUntil) return;
    while (idle.length + starting < opts.size) {
      starting++;
      opts.onStart("pool");
      opts.starter.start(undefined, onReady);
    }
  }

  // Refilling only at half empty, in one batch, keeps start-up work away from most calls: the
  // median call never shares the machine with a spawn, at the price of one slower call per
  // batch. That holds for local spawns, which stop the event loop for each fork, and (measured)
  // for the spawner too: refilling after every call put a spawn and a process start-up beside
  // every call and tripled the median at one connection. setImmediate puts the batch after the
  // current response is written, not before it.
  function scheduleRefill(): void {
    if (refillQueued || stopped || idle.length + starting > opts.size / 2) return;
    refillQueued = true;
    setImmediate(refill);
  }

  return {
    take(_req, ready) {
      const proc = idle.shift();
      if (proc !== undefined) {
        opts.onSize(idle.length);
        scheduleRefill();
        return ready(proc);
      }
      scheduleRefill();
      opts.onStart("call");
      opts.starter.start(undefined, ready);
    },
    async start() {
      await opts.starter.open();
      scheduleRefill();
    },
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
      await opts.starter.close();
    },
  };
}
