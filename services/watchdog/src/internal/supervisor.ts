import { connect } from "node:net";
import type { Logger } from "@ferry/runtime";
import type { FunctionOutput } from "./output.js";
import type { Exit, FunctionProcess } from "./process.js";
import type { ProcessStarter } from "./spawner.js";

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  /** Starts the process; the native spawner's, so that the process dies with the watchdog. */
  starter: ProcessStarter;
  /** Where the process's stdout and stderr are logged. */
  output: FunctionOutput;
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

/** A started process and whether its port accepts (false once it exited first). */
interface Launched {
  proc: FunctionProcess;
  accepting: Promise<boolean>;
}

/**
 * Keeps the http-mode function process running: starts it, waits until its port accepts, restarts
 * it with exponential backoff when it dies. (of-watchdog exits with the process and leaves the
 * restart to the orchestrator; restarting here keeps the sidecar's own state and metrics.)
 */
export class Supervisor {
  #proc: FunctionProcess | undefined;
  #running = false;
  #launching: Promise<Launched> | undefined;
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
    await this.opts.starter.open();
    const { proc, accepting } = await this.#launch();
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
    // A start the spawner has not answered yet hands over a process that must be stopped too.
    await this.#launching;
    const proc = this.#proc;
    if (proc && this.#running) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await proc.exited;
      clearTimeout(timer);
    }
    await this.opts.starter.close();
  }

  #launch(): Promise<Launched> {
    this.#launching = this.#startProcess();
    return this.#launching;
  }

  async #startProcess(): Promise<Launched> {
    const startedAt = Date.now();
    const proc = await new Promise<FunctionProcess>((ready) =>
      this.opts.starter.start(undefined, ready),
    );
    this.#proc = proc;
    this.#running = true;
    this.opts.onStart();
    this.#log.info({ pid: proc.pid }, "function process started");
    const stdout = proc.stdout();
    this.opts.output.follow(stdout, "stdout", proc.pid);
    // Starters hand stdout over paused; a 'data' listener alone does not restart a paused stream.
    stdout.resume();
    void proc.exited.then((exit) => {
      this.#running = false;
      this.#onExit(exit, Date.now() - startedAt);
    });
    const accepting = this.#waitForPort(proc);
    void accepting.then((ok) => {
      if (!ok || this.#stopped) return;
      this.#up = true;
      this.#log.info({ pid: proc.pid, port: this.opts.port }, "function process accepting");
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
    this.#restartTimer = setTimeout(() => void this.#launch(), delayMs);
  }

  /** Polls the port until it accepts (true) or the process exits first (false). */
  async #waitForPort(proc: FunctionProcess): Promise<boolean> {
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
