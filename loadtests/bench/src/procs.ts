import { readFileSync } from "node:fs";
import { freePort, sleep } from "@ferry/runtime";
import { spawnTs, type TsProcess } from "@ferry/testkit";

/** A target process of the benchmark, listening on `url`. */
export interface Target {
  url: string;
  port: number;
  proc: TsProcess;
  stop(): Promise<void>;
}

/**
 * Starts a TypeScript entry as a child process with a free port in `portVar`; it is ready when its
 * output contains `ready` (a string) or when `GET <ready.path>` on that port answers 200.
 */
export async function startTarget(
  entry: string,
  env: Record<string, string> = {},
  ready: string | { path: string } = "target ready",
  portVar = "PORT",
  nodeArgs: string[] = [],
): Promise<Target> {
  const port = await freePort();
  const proc = spawnTs(entry, {
    env: { LOG_LEVEL: "warn", ...env, [portVar]: String(port) },
    nodeArgs,
  });
  const url = `http://127.0.0.1:${port}`;
  if (typeof ready === "string") await proc.waitForOutput(ready, 30_000);
  else await waitHttp(`${url}${ready.path}`);
  return { url, port, proc, stop: () => stopGracefully(proc) };
}

/** Polls `url` until it answers `status`. */
export async function waitHttp(url: string, status = 200, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).status === status) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer ${status}`);
    await sleep(50);
  }
}

/** SIGTERM first, so that a watchdog stops its function process too; SIGKILL after 5 s. */
async function stopGracefully(proc: TsProcess): Promise<void> {
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 5_000);
  await proc.kill("SIGTERM");
  clearTimeout(timer);
}

/** User plus system CPU of a process so far, in microseconds (clock ticks are 1/100 s). */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}
