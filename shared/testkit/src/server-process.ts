import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./ports.js";

/** A server process started by a test, on a free port with its own temporary data directory. */
export interface ServerHandle {
  /** Client URL, e.g. `nats://127.0.0.1:4567` or `redis://127.0.0.1:6380`. */
  url: string;
  port: number;
  /** The temporary data directory, kept across restarts. */
  dataDir: string;
  /** Stops the process (SIGKILL when `kill` is true, else SIGTERM) without removing its data. */
  halt(opts?: { kill?: boolean }): Promise<void>;
  /** Halts, then starts again on the same port with the same data. */
  restart(opts?: { kill?: boolean }): Promise<void>;
  /** Stops the process and removes its data. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** How to start one kind of server. */
export interface ServerRecipe {
  command: string;
  scheme: string;
  args(port: number, dataDir: string): string[];
  /** Message shown when the command is missing. */
  install: string;
}

/** Starts a server from a recipe on a free port and waits until it accepts connections. */
export async function startServer(recipe: ServerRecipe): Promise<ServerHandle> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), `ferry-${recipe.command}-`));
  let child: ChildProcess | undefined;
  let stderr = "";

  const launch = async (): Promise<void> => {
    stderr = "";
    const proc = spawn(recipe.command, recipe.args(port, dataDir), {
      stdio: ["ignore", "ignore", "pipe"],
    });
    proc.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const failed = new Promise<never>((_, reject) => {
      proc.once("error", (err) =>
        reject(new Error(`cannot start ${recipe.command}: ${err.message}. ${recipe.install}`)),
      );
      proc.once("exit", (code) =>
        reject(new Error(`${recipe.command} exited with ${code}: ${stderr}`)),
      );
    });
    child = proc;
    await Promise.race([waitForPort(port, 15_000), failed]);
    failed.catch(() => {});
  };
  const halt = async (opts: { kill?: boolean } = {}): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill(opts.kill ? "SIGKILL" : "SIGTERM");
    await exited;
  };
  const stop = async (): Promise<void> => {
    await halt({ kill: true });
    await rm(dataDir, { recursive: true, force: true });
  };

  await launch();
  return {
    url: `${recipe.scheme}://127.0.0.1:${port}`,
    port,
    dataDir,
    halt,
    restart: async (opts) => {
      await halt(opts);
      await launch();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
