import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { z } from "zod";
import { REPO_ROOT } from "@ferry/testkit";
import { GatewayConfig } from "@ferry/gateway";
import { WorkerConfig } from "@ferry/queue-worker";
import { CallbacksConfig } from "@ferry/callbacks";
import { loadConfig as loadWatchdogConfig } from "@ferry/watchdog";

/** Environment variables as a deployment sets them. */
export type Env = Record<string, string>;

/** What a deployment may run from the services image, and how to check its settings. */
export interface ServiceTarget {
  /** The entry's TypeScript source, which must exist. */
  source: string;
  /** Every environment variable the entry reads. */
  known: string[];
  /** Validates an environment (throws on a bad value) and returns the ports it listens on. */
  ports(env: Env): number[];
  /** How long the process may take to stop after SIGTERM, in ms. */
  stopDeadlineMs(env: Env): number;
}

const keys = (schema: z.ZodObject): string[] => Object.keys(schema.shape);

/** The services image's entries, by the path a deployment passes to `node`. */
export const SERVICE_TARGETS: Record<string, ServiceTarget> = {
  "services/gateway/dist/main.js": {
    source: "services/gateway/src/main.ts",
    known: keys(GatewayConfig),
    ports: (env) => [GatewayConfig.parse(env).PORT],
    // main.ts uses onShutdown's default deadline.
    stopDeadlineMs: () => 30_000,
  },
  "services/queue-worker/dist/main.js": {
    source: "services/queue-worker/src/main.ts",
    known: keys(WorkerConfig),
    ports: (env) => [WorkerConfig.parse(env).HEALTH_PORT],
    // main.ts: SHUTDOWN_DEADLINE for running calls, then 5 s to close connections.
    stopDeadlineMs: (env) => WorkerConfig.parse(env).SHUTDOWN_DEADLINE + 5_000,
  },
  "services/callbacks/dist/main.js": {
    source: "services/callbacks/src/main.ts",
    known: keys(CallbacksConfig),
    ports: (env) => [CallbacksConfig.parse(env).HEALTH_PORT],
    stopDeadlineMs: () => 30_000,
  },
  "services/ferry/dist/main.js": {
    source: "services/ferry/src/main.ts",
    // cli.ts and the gateway client commands read these directly.
    known: [
      "NATS_URL",
      "REDIS_URL",
      "PORT",
      "HOST",
      "LOG_LEVEL",
      "FERRY_GATEWAY_URL",
      "FERRY_TOKEN",
      "FERRY_BASIC_AUTH",
    ],
    ports: () => [],
    stopDeadlineMs: () => 30_000,
  },
};

/** A function container's watchdog settings: its ports and stop deadline; throws on bad values. */
export function watchdogTarget(env: Env): { ports: number[]; stopDeadlineMs: number } {
  const cfg = loadWatchdogConfig(env);
  const unknown = Object.keys(env).filter((k) => /^[a-z_]+$/.test(k) && !(k in cfg));
  if (unknown.length > 0) throw new Error(`unknown watchdog variables: ${unknown.join(", ")}`);
  return {
    ports: [cfg.port, ...(cfg.metrics_port === null ? [] : [cfg.metrics_port])],
    // watchdog main.ts: probe wait + drain + write, plus 5 s for the function process.
    stopDeadlineMs: cfg.healthcheck_interval + 2 * cfg.write_timeout + 5_000,
  };
}

/** Reads a YAML file of the repository (every document of it). */
export function readYaml(path: string): unknown[] {
  const text = readFileSync(join(REPO_ROOT, path), "utf8");
  // docker-compose resolves `<<:` merge keys; so must we.
  return parseAllDocuments(text, { merge: true }).map((d) => {
    if (d.errors.length > 0) throw new Error(`${path}: ${d.errors[0]?.message}`);
    return d.toJS() as unknown;
  });
}

/** True when a path exists in the repository. */
export const inRepo = (path: string): boolean => existsSync(join(REPO_ROOT, path));

/** Host and port of a URL (first of a comma-separated list), with the scheme's default port. */
export function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url.split(",")[0] ?? url);
  const defaults: Record<string, number> = { "nats:": 4222, "redis:": 6379, "http:": 80 };
  return { host: u.hostname, port: Number(u.port) || (defaults[u.protocol] ?? 0) };
}

/** Every key of an environment that the target does not read. */
export function unknownVars(env: Env, known: string[]): string[] {
  return Object.keys(env).filter((k) => !known.includes(k));
}
