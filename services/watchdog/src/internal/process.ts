import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import type { Command } from "../config.js";
import type { FunctionOutput } from "./output.js";

/** How a function process ended: an exit code, a signal, or a failure to start at all. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started (e.g. ENOENT). */
  error?: Error;
}

/** A started function process, whether the watchdog or a spawner process started it. */
export interface FunctionProcess {
  /** Undefined when the process could not be started. */
  readonly pid: number | undefined;
  readonly stdin: Writable;
  /** Resolves once the process has exited and its stdio is closed. */
  readonly exited: Promise<Exit>;
  /** Sends `signal` to the process group, so helpers the function started go too. */
  kill(signal?: NodeJS.Signals): void;
  /** stdout, released to its one reader; until then held back (see {@link spawnFunction}). */
  stdout(): Readable;
}

/** Options of {@link spawnFunction}. */
export interface SpawnOptions {
  command: Command;
  env: NodeJS.ProcessEnv;
  output: FunctionOutput;
  /** Holds every live process, so the watchdog can kill them all if it must exit at once. */
  live: Set<FunctionProcess>;
}

/**
 * Starts the function in its own process group (`detached`), so a timeout or shutdown can kill
 * everything it started, as the classic watchdog does with `Setpgid`.
 */
export function spawnFunction(opts: SpawnOptions): FunctionProcess {
  const child = spawn(opts.command.file, opts.command.args, {
    env: opts.env,
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  // A function that exits without reading its input makes our writes fail with EPIPE: expected.
  child.stdin.on("error", ignore);
  opts.output.follow(child.stderr, "stderr", child.pid);
  // Node resumes a child's unread stdio when it exits, dropping output nobody listened to yet. A
  // pooled function may exit before its call arrives (it ignored stdin), so hold stdout with a
  // 'readable' listener: paused, under backpressure, and kept until its reader takes it.
  child.stdout.on("readable", ignore);
  const exited = new Promise<Exit>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  const proc: FunctionProcess = {
    pid: child.pid,
    stdin: child.stdin,
    exited,
    kill: (signal = "SIGKILL") => killGroup(child.pid, signal),
    stdout: () => child.stdout.off("readable", ignore),
  };
  opts.live.add(proc);
  void exited.then(() => opts.live.delete(proc));
  return proc;
}

/** Signals a process group; a group that is already gone is not an error. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has already exited.
  }
}

function ignore(): void {}
