import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createRegistry,
  sleep,
  startHealthServer,
  type HealthServer,
  type Logger,
  type Registry,
} from "@ferry/runtime";
import type { WatchdogConfig } from "./config.js";
import { createFunctionOutput } from "./internal/output.js";
import type { FunctionProcess } from "./internal/process.js";
import { createLockFile, defaultLockPath } from "./lock.js";
import { createMetrics } from "./metrics.js";
import { createRunner } from "./runners/index.js";
import { createCallServer } from "./server.js";

/** What the watchdog takes from its host process. */
export interface WatchdogDeps {
  logger: Logger;
  /** Base environment of function processes (the process entry passes `process.env`). */
  env: NodeJS.ProcessEnv;
  /** Registry for the watchdog's metrics; a new one with Node's process metrics by default. */
  registry?: Registry;
  /** Receives function output lines when `prefix_logs` is false; default the watchdog's stderr. */
  rawLog?: (line: Buffer) => void;
  /** A span per call: the process entry sets it when the OpenTelemetry SDK runs. */
  tracing?: boolean;
}

/** A running watchdog. */
export interface Watchdog {
  /** Listens, starts the function and resolves once calls can be served. */
  start(): Promise<{ port: number; metricsPort: number | null }>;
  /** Graceful shutdown: fail health, wait a probe interval, drain, stop the function. */
  stop(): Promise<void>;
  /** Kills every function process now (SIGKILL to each group); for a process that must exit at once. */
  kill(): void;
}

/** Builds a watchdog for one function from its configuration. */
export function createWatchdog(config: WatchdogConfig, deps: WatchdogDeps): Watchdog {
  const log = deps.logger.child({ component: "watchdog" });
  const registry = deps.registry ?? createRegistry({ defaults: true });
  const metrics = createMetrics(registry);
  const output = createFunctionOutput({
    logger: deps.logger,
    prefixLogs: config.prefix_logs,
    maxLineBytes: config.log_buffer_size,
    raw: deps.rawLog ?? ((line) => process.stderr.write(Buffer.concat([line, NEWLINE]))),
  });
  const live = new Set<FunctionProcess>();
  const runner = createRunner(config, {
    env: deps.env,
    output,
    live,
    logger: deps.logger,
    metrics,
  });
  const lock = createLockFile(
    config.suppress_lock ? undefined : (config.lock_file ?? defaultLockPath()),
  );
  let accepting = false;
  let metricsServer: HealthServer | undefined;
  let stopping: Promise<void> | undefined;
  const calls = createCallServer({
    runner,
    metrics,
    maxInflight: config.max_inflight,
    execTimeoutMs: config.exec_timeout,
    readTimeoutMs: config.read_timeout,
    writeTimeoutMs: config.write_timeout,
    healthy: () => accepting && lock.held(),
    accepting: () => accepting,
    tracing: deps.tracing ?? false,
  });

  async function shutdown(): Promise<void> {
    accepting = false;
    lock.release();
    log.info({ waitMs: config.healthcheck_interval }, "failing health, waiting one probe interval");
    await sleep(config.healthcheck_interval);
    log.info({ inflight: calls.inflight(), deadlineMs: config.write_timeout }, "draining calls");
    await calls.drain(config.write_timeout);
    await runner.stop(config.write_timeout);
    await metricsServer?.close();
  }

  return {
    async start() {
      const { metrics_port: metricsPortWanted } = config;
      const reserved = reservedPorts(config);
      if (metricsPortWanted !== null) {
        const ready = () => accepting;
        const start = () =>
          startHealthServer({ port: metricsPortWanted, ready, registries: [registry] });
        metricsServer = await start();
        // Port 0 may be handed the function's port before the function listens on it (its
        // caller picked that port free a moment ago): readiness would then reach this server.
        while (metricsPortWanted === 0 && reserved.has(metricsServer.port)) {
          const taken = metricsServer;
          metricsServer = await start();
          await taken.close();
        }
      }
      await listen(calls.server, config.port);
      while (config.port === 0 && reserved.has((calls.server.address() as AddressInfo).port)) {
        await new Promise((resolve) => calls.server.close(resolve));
        await listen(calls.server, 0);
      }
      const port = (calls.server.address() as AddressInfo).port;
      try {
        await runner.start();
      } catch (err) {
        await Promise.all([calls.drain(0), metricsServer?.close(), runner.stop(0)]);
        throw err;
      }
      lock.write();
      accepting = true;
      const metricsPort = metricsServer?.port ?? null;
      log.info({ port, metricsPort, mode: config.mode, lockFile: lock.path }, "watchdog ready");
      return { port, metricsPort };
    },
    stop() {
      stopping ??= shutdown();
      return stopping;
    },
    kill() {
      for (const proc of live) proc.kill("SIGKILL");
    },
  };
}

/** Ports the watchdog must not take for itself: its function's, in http mode. */
function reservedPorts(config: WatchdogConfig): Set<number> {
  if (config.mode !== "http" || !config.upstream_url) return new Set();
  const url = new URL(config.upstream_url);
  return new Set([Number(url.port || 80)]);
}

const NEWLINE = Buffer.from("\n");

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
