import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";

/** The repository root, for locating entry points of services. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** A Node process running a TypeScript entry point of the repository. */
export interface TsProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves when the output contains `text`; rejects if the process exits first or after `timeoutMs`. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Sends a signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Runs `entry` (a path from the repository root) with tsx and the source condition. `detached`
 * gives it a process group of its own, as a terminal's foreground job has (signal it with
 * `process.kill(-pid)`).
 */
export function spawnTs(
  entry: string,
  opts: {
    env?: Record<string, string>;
    args?: string[];
    nodeArgs?: string[];
    detached?: boolean;
  } = {},
): TsProcess {
  const child = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      "--import",
      "tsx",
      "--conditions=@ferry/source",
      resolve(REPO_ROOT, entry),
      ...(opts.args ?? []),
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: opts.detached ?? false,
    },
  );
  let out = "";
  const listeners = new Set<() => void>();
  const append = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    for (const l of listeners) l();
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const kill = async (signal: NodeJS.Signals = "SIGTERM"): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    child,
    output: () => out,
    waitForOutput(text, timeoutMs = 30_000) {
      const hit = (): boolean => (typeof text === "string" ? out.includes(text) : text.test(out));
      return new Promise((resolve, reject) => {
        const done = (err?: Error): void => {
          listeners.delete(check);
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        };
        const check = (): void => void (hit() && done());
        const timer = setTimeout(
          () =>
            done(new Error(`timed out waiting for ${String(text)}; output:\n${out.slice(-3000)}`)),
          timeoutMs,
        );
        void exited.then(
          () =>
            hit() ||
            done(new Error(`${entry} exited before ${String(text)}; output:\n${out.slice(-3000)}`)),
        );
        listeners.add(check);
        check();
      });
    },
    kill,
    [Symbol.asyncDispose]: () => kill("SIGKILL"),
  };
}
