import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { FunctionSpec } from "@ferry/contracts";
import { freePort, sleep } from "@ferry/runtime";

/** One function replica: a watchdog child process in front of the function process. */
export interface Replica {
  name: string;
  /** Where the watchdog serves the function. */
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith(".ts");
// From source the watchdog runs through tsx, whatever runs this process (tsx, vitest), unless
// `compiled` asks for its build (faster cold starts; needs `npm run build` first).
const sourceEntry = (): string[] => [
  "--import",
  import.meta.resolve("tsx"),
  "--conditions=@ferry/source",
  resolve(here, "../../watchdog/src/main.ts"),
];
const compiledEntry = (): string[] => [resolve(here, "../../watchdog/dist/main.js")];

/** Options of {@link startReplica}. */
export interface ReplicaOptions {
  /** Run the compiled watchdog (`dist/`) even when this process runs from source. */
  compiled?: boolean;
}

/** Starts a watchdog for a function spec (relative paths from `baseDir`) and waits until it is ready. */
export async function startReplica(
  spec: FunctionSpec,
  baseDir: string,
  logger: Logger,
  opts: ReplicaOptions = {},
): Promise<Replica> {
  const wd = spec.watchdog;
  if (!wd) throw new Error(`function ${spec.name} has no watchdog settings`);
  const port = await freePort();
  const upstreamPort = await freePort();
  const env: Record<string, string> = {
    ...inheritedEnv(),
    ...spec.env,
    ...secretEnv(spec, baseDir),
    mode: wd.mode,
    port: String(port),
    metrics_port: "0",
    suppress_lock: "true",
    // No load balancer sits in front of a local replica: stop without waiting a probe interval.
    healthcheck_interval: "0s",
    exec_timeout: `${Math.ceil(spec.timeout / 1000)}s`,
    PORT: String(upstreamPort),
  };
  if (wd.fprocess) env.fprocess = wd.fprocess;
  if (wd.mode === "http") env.upstream_url = wd.upstreamUrl ?? `http://127.0.0.1:${upstreamPort}`;
  if (wd.staticPath) env.static_path = resolve(baseDir, wd.staticPath);
  if (wd.poolSize !== undefined) env.pool_size = String(wd.poolSize);
  const args = fromSource && !opts.compiled ? sourceEntry() : compiledEntry();
  const child = spawn(process.execPath, args, {
    cwd: resolve(baseDir, wd.workdir ?? "."),
    env,
    stdio: ["ignore", "inherit", "inherit"],
    // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and a
    // replica that exited under it would be replaced while the calls drain; `stop()` ends it.
    detached: true,
  });
  const log = logger.child({ component: "replica", function: spec.name, port });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child, spec.name);
  log.info({ url }, "function ready");
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    name: spec.name,
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null)
      throw new Error(`the watchdog of ${name} exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/_/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  child.kill("SIGKILL");
  throw new Error(`function ${name} was not ready after 30 s`);
}

/**
 * The function's `secrets`, resolved now from this process's environment or from files (paths
 * relative to `baseDir`); only the references are stored in the registry. A missing one fails
 * the start, naming the reference, never a value.
 */
export function secretEnv(
  spec: FunctionSpec,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(spec.secrets ?? {})) {
    if ("env" in ref) {
      const value = env[ref.env];
      if (value === undefined) {
        throw new Error(`function ${spec.name}: secret ${name}: variable ${ref.env} is not set`);
      }
      out[name] = value;
    } else {
      try {
        out[name] = readFileSync(resolve(baseDir, ref.file), "utf8").replace(/\r?\n$/, "");
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
        throw new Error(`function ${spec.name}: secret ${name}: cannot read ${ref.file} (${code})`);
      }
    }
  }
  return out;
}

function inheritedEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "LANG", "TMPDIR", "NODE_OPTIONS", "TZ"];
  return Object.fromEntries(
    keep.flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])),
  );
}
