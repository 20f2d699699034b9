import { spawn, type ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import { freePort, sleep } from "@ferry/runtime";

/** A server Ferry uses: one that was already running, or one `ferry up` started. */
export interface LocalServer {
  url: string;
  /** True when `ferry up` started it (and will stop it). */
  started: boolean;
  stop(): Promise<void>;
}

/** How to start one kind of server from PATH. */
interface Recipe {
  kind: "nats" | "redis";
  command: string;
  defaultPort: number;
  args(port: number, dataDir: string): string[];
  install: string;
}

const RECIPES = {
  nats: {
    kind: "nats",
    command: "nats-server",
    defaultPort: 4222,
    args: (port, dir) => ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir],
    install: "Install NATS (Debian/Ubuntu: `sudo apt-get install nats-server`) or set NATS_URL.",
  },
  redis: {
    kind: "redis",
    command: "redis-server",
    defaultPort: 6379,
    args: (port, dir) => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--save",
      "",
    ],
    install: "Install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`) or set REDIS_URL.",
  },
} satisfies Record<string, Recipe>;

/** A server that cannot be had; the message says how to get it. */
export class MissingServerError extends Error {
  override name = "MissingServerError";
}

/**
 * Uses `url` when it answers; otherwise starts the server from PATH with its data under
 * `dataRoot/<kind>`, on the default port when free, else on a free one.
 */
export async function ensureServer(
  kind: keyof typeof RECIPES,
  url: string | undefined,
  dataRoot: string,
  logger: Logger,
): Promise<LocalServer> {
  const recipe: Recipe = RECIPES[kind];
  if (url && (await answers(url))) {
    logger.info({ url }, `using the running ${kind} server`);
    return { url, started: false, stop: async () => {} };
  }
  if (url) logger.warn({ url }, `${kind} does not answer at ${url}; starting one`);
  const port = (await answers(`tcp://127.0.0.1:${recipe.defaultPort}`))
    ? await freePort()
    : recipe.defaultPort;
  const dataDir = join(dataRoot, kind);
  await mkdir(dataDir, { recursive: true });
  const child = await launch(recipe, port, dataDir);
  const scheme = kind === "nats" ? "nats" : "redis";
  logger.info({ port, dataDir }, `started ${recipe.command}`);
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    started: true,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(5_000)]);
    },
  };
}

async function launch(recipe: Recipe, port: number, dataDir: string): Promise<ChildProcess> {
  const child = spawn(recipe.command, recipe.args(port, dataDir), {
    stdio: ["ignore", "ignore", "pipe"],
    // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and the
    // server must outlive the drain that follows; `stop()` ends it last.
    detached: true,
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new MissingServerError(
          err.code === "ENOENT"
            ? `${recipe.command} is not installed. ${recipe.install}`
            : err.message,
        ),
      ),
    );
    child.once("exit", (code) =>
      reject(new MissingServerError(`${recipe.command} exited with ${code}: ${stderr}`)),
    );
  });
  failed.catch(() => {});
  const until = Date.now() + 15_000;
  while (!(await answers(`tcp://127.0.0.1:${port}`))) {
    await Promise.race([sleep(50), failed]);
    if (Date.now() > until)
      throw new MissingServerError(`${recipe.command} did not start on port ${port}`);
  }
  return child;
}

/** True when something accepts TCP connections at the URL's host and port. */
function answers(url: string): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const first = url.split(",")[0] ?? url;
    const parsed = new URL(first);
    host = parsed.hostname || "127.0.0.1";
    port = Number(parsed.port) || (parsed.protocol === "redis:" ? 6379 : 4222);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(false));
  });
}
