import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./ports.js";

/** One node of a {@link NatsCluster}. */
export interface ClusterNode {
  /** `server_name`, e.g. `n1`; JetStream reports leaders by this name. */
  name: string;
  /** Client URL of this node alone. */
  url: string;
  port: number;
  /** HTTP monitoring port (`/healthz`, `/jsz`, `/varz`). */
  monitorPort: number;
  /** The node's own JetStream store, kept across restarts. */
  dataDir: string;
  /** True while its process runs. */
  running(): boolean;
  /** Stops the node (SIGKILL when `kill` is true, else SIGTERM), keeping its data. */
  halt(opts?: { kill?: boolean }): Promise<void>;
  /** Starts the node again on the same ports with the same data; resolves when it is healthy. */
  start(): Promise<void>;
}

/** A NATS cluster of real `nats-server` processes with JetStream, routed on loopback. */
export interface NatsCluster {
  /** Every node's client URL, comma-separated, as `NATS_URL` takes it. */
  url: string;
  nodes: ClusterNode[];
  /** Stops every node and removes all data. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Ports {
  client: number;
  cluster: number;
  monitor: number;
}

/**
 * Starts `size` nats-server processes forming one JetStream cluster on loopback, each with its
 * own data directory, and resolves once every node reports healthy (JetStream meta leader known).
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const root = await mkdtemp(join(tmpdir(), "ferry-nats-cluster-"));
  const ports: Ports[] = [];
  for (let i = 0; i < size; i++) {
    ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  }
  const nodes = await Promise.all(ports.map((p, i) => createNode(root, `n${i + 1}`, p, ports)));
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.halt({ kill: true })));
    await rm(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: nodes.map((n) => n.url).join(","), nodes, stop, [Symbol.asyncDispose]: stop };
}

async function createNode(
  root: string,
  name: string,
  own: Ports,
  all: Ports[],
): Promise<ClusterNode> {
  const dataDir = join(root, name);
  await mkdir(dataDir, { recursive: true });
  const configFile = join(root, `${name}.conf`);
  await writeFile(configFile, nodeConfig(name, dataDir, own, all));
  let child: ChildProcess | undefined;
  let stderr = "";
  const running = (): boolean =>
    child !== undefined && child.exitCode === null && child.signalCode === null;

  const start = async (): Promise<void> => {
    stderr = "";
    const proc = spawn("nats-server", ["-c", configFile], { stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const failed = new Promise<never>((_, reject) => {
      proc.once("error", (err) => reject(new Error(`cannot start nats-server: ${err.message}`)));
      proc.once("exit", (code) => reject(new Error(`${name} exited with ${code}: ${stderr}`)));
    });
    failed.catch(() => {});
    child = proc;
    await Promise.race([waitHealthy(own), failed]);
  };
  const halt = async (opts: { kill?: boolean } = {}): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill(opts.kill ? "SIGKILL" : "SIGTERM");
    await exited;
  };
  const url = `nats://127.0.0.1:${own.client}`;
  return { name, url, port: own.client, monitorPort: own.monitor, dataDir, running, halt, start };
}

/** The node's config file: JetStream on its own store, routes to every node (itself is ignored). */
function nodeConfig(name: string, dataDir: string, own: Ports, all: Ports[]): string {
  const routes = all.map((p) => `    nats-route://127.0.0.1:${p.cluster}`).join("\n");
  return [
    `server_name: ${name}`,
    `listen: 127.0.0.1:${own.client}`,
    `http: 127.0.0.1:${own.monitor}`,
    `jetstream { store_dir: ${JSON.stringify(dataDir)} }`,
    "cluster {",
    "  name: ferry-test",
    `  listen: 127.0.0.1:${own.cluster}`,
    "  routes: [",
    routes,
    "  ]",
    "}",
    "",
  ].join("\n");
}

/** Waits for the client port, then for `/healthz` to answer 200 (JetStream up and current). */
async function waitHealthy(ports: Ports, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  await waitForPort(ports.client, timeoutMs);
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${ports.monitor}/healthz`);
      if (res.status === 200) return;
    } catch {
      // monitoring not listening yet
    }
    if (Date.now() > until) throw new Error(`nats node on ${ports.client} not healthy`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
