import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createLogger, createRegistry, freePort } from "@ferry/runtime";
import { createWatchdog, loadConfig, type Watchdog } from "../src/index.js";

export { freePort };

/** Absolute path of a file under test/fixtures. */
export const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Absolute path of a file under the repository's examples/functions. */
export const example = (path: string): string =>
  fileURLToPath(new URL(`../../../examples/functions/${path}`, import.meta.url));

/** Env of an http-mode watchdog in front of test/fixtures/upstream.mjs on a free port. */
export async function upstreamEnv(
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  const port = await freePort();
  return {
    mode: "http",
    fprocess: `node ${fixture("upstream.mjs")}`,
    upstream_url: `http://127.0.0.1:${port}`,
    PORT: String(port),
    ...extra,
  };
}

/** The pid of the upstream.mjs function behind the watchdog at `url`, or 0 while it does not answer. */
export async function upstreamPid(url: string): Promise<number> {
  const res = await fetch(`${url}/pid`);
  await res.arrayBuffer();
  return res.status === 200 ? Number(res.headers.get("x-upstream-pid")) : 0;
}

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));

/** Env that keeps test watchdogs quick to stop and out of each other's way. */
const TEST_DEFAULTS = {
  port: "0",
  metrics_port: "off",
  suppress_lock: "true",
  healthcheck_interval: "10ms",
};

/** A watchdog running in this process, stopped by `await using`. */
export interface InProcess extends AsyncDisposable {
  watchdog: Watchdog;
  url: string;
  metricsPort: number | null;
}

/** Starts a watchdog in-process with `env` over the test defaults. */
export async function startInProcess(env: Record<string, string>): Promise<InProcess> {
  const config = loadConfig({ ...TEST_DEFAULTS, ...env });
  const logger = createLogger({ name: "watchdog-test", level: "silent" });
  const watchdog = createWatchdog(config, {
    logger,
    env: { ...process.env, ...env },
    registry: createRegistry(),
  });
  const { port, metricsPort } = await watchdog.start();
  return {
    watchdog,
    url: `http://127.0.0.1:${port}`,
    metricsPort,
    [Symbol.asyncDispose]: () => watchdog.stop(),
  };
}

/** A watchdog process started from src/main.ts. */
export interface Spawned extends AsyncDisposable {
  child: ChildProcess;
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/** Runs src/main.ts with `env`; resolves after its "watchdog ready" line. */
export async function spawnWatchdog(env: Record<string, string>): Promise<Spawned> {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@ferry/source", MAIN], {
    env: { ...process.env, ...TEST_DEFAULTS, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /"port":(\d+)[^\n]*"msg":"watchdog ready"/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => reject(new Error(`watchdog exited with ${code}:\n${output}`)));
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Runs src/main.ts with `env` until it exits; for configurations that must be refused. */
export async function runWatchdogToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@ferry/source", MAIN], {
    env: { ...process.env, ...TEST_DEFAULTS, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stderr };
}

/** Pids of the children of `parent` whose command line (`ps` args) passes `match`. */
export function childrenOf(parent: number, match: (args: string) => boolean): number[] {
  const out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(parent)], {
    encoding: "utf8",
  });
  return out
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && match(m[2] ?? ""))
    .map((m) => Number(m[1]));
}

/** True if a process with this pid exists and is not a zombie waiting to be reaped. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; Z is dead but not yet reaped by its new parent.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

/** The parent pid of a running process. */
export function parentOf(pid: number): number {
  // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** Polls `check` until it is true (tests wait for effects, never for fixed times). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 10_000,
): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
