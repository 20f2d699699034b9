import { connect } from "node:net";
import type { Logger } from "@ferry/runtime";
import { spawnFunction, type Exit, type LocalProcess, type SpawnOptions } from "./process.js";

/** Options of {@link Supervisor}. */
export interface SupervisorOptions extends Omit<SpawnOptions, "logStdout"> {
  logger: Logger;
  /** Where the process listens once it is up. */
  host: string;
  port: number;
  /** Called each time the process is started. */
  onStart: () => void;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** A process that ran this long before dying was healthy: its restart starts from the minimum. */
const STABLE_MS = 10_000;
const PROBE_INTERVAL_MS = 20;

/**
 * Keeps the http-mode function process running: starts it, waits until its port accepts, restarts
 * it with exponential backoff when it dies. (of-watchdog exits with the process and leaves the
 * restart to the orchestrator; restarting here keeps the sidecar's own state and metrics.)
 */
export class Supervisor {
  #proc: LocalProcess | undefined;
  #up = false;
  #stopped = false;
  #backoffMs = BACKOFF_MIN_MS;
  #restartTimer: NodeJS.Timeout | undefined;
  readonly #log: Logger;

  constructor(private readonly opts: SupervisorOptions) {
    this.#log = opts.logger.child({ component: "supervisor" });
  }

  /** Whether the process is running and its port accepts connections. */
  get up(): boolean {
    return this.#up;
  }

  /** Starts the process; resolves when its port accepts, rejects if it cannot be started at all. */
  async start(): Promise<void> {
    const { proc, accepting } = this.#launch();
    const first = await Promise.race([accepting, proc.exited]);
    if (first === true) return;
    if (first !== false && first.error) throw first.error;
    await this.#whenUp();
  }

  /** Forwards SIGTERM, then SIGKILL after `graceMs` if the process is still there. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    this.#up = false;
    clearTimeout(this.#restartTimer);
    const proc = this.#proc;
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    await proc.exited;
    clearTimeout(timer);
  }

  #launch(): { proc: LocalProcess; accepting: Promise<boolean> } {
    const startedAt = Date.now();
    const proc = spawnFunction({ ...this.opts, logStdout: true });
    this.#proc = proc;
    this.opts.onStart();
    this.#log.info({ pid: proc.child.pid }, "function process started");
    void proc.exited.then((exit) => this.#onExit(exit, Date.now() - startedAt));
    const accepting = this.#waitForPort(proc);
    void accepting.then((ok) => {
      if (!ok || this.#stopped) return;
      this.#up = true;
      this.#log.info({ pid: proc.child.pid, port: this.opts.port }, "function process accepting");
    });
    return { proc, accepting };
  }

  #onExit(exit: Exit, uptimeMs: number): void {
    this.#up = false;
    if (this.#stopped) return;
    this.#backoffMs = uptimeMs >= STABLE_MS ? BACKOFF_MIN_MS : this.#backoffMs;
    const delayMs = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, BACKOFF_MAX_MS);
    const { code, signal } = exit;
    this.#log.error(
      { code, signal, err: exit.error, delayMs },
      "function process exited, restarting",
    );
    this.#restartTimer = setTimeout(() => this.#launch(), delayMs);
  }

  /** Polls the port until it accepts (true) or the process exits first (false). */
  async #waitForPort(proc: LocalProcess): Promise<boolean> {
    let alive = true;
    void proc.exited.then(() => (alive = false));
    while (alive && !this.#stopped) {
      if (await canConnect(this.opts.host, this.opts.port)) return alive;
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
    return false;
  }

  /** Resolves once a (re)started process is accepting; used when the first one died early. */
  async #whenUp(): Promise<void> {
    while (!this.#up) {
      if (this.#stopped) throw new Error("stopped before the function process was up");
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
