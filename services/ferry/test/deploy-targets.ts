import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse, parseAllDocuments } from "yaml";
import type { z } from "zod";
import { REPO_ROOT } from "@ferry/testkit";
import { GatewayConfig } from "@ferry/gateway";
import { WorkerConfig } from "@ferry/queue-worker";
import { CallbackDeliveryConfig, CallbacksConfig } from "@ferry/callbacks";
import { RouterConfig } from "@ferry/router";
import { ConnectorEnv, type ConnectorDefinition } from "@ferry/connector-sdk";
import { cronConnector } from "@ferry/cron-connector";
import { kafkaConnector } from "@ferry/kafka-connector";
import { s3Connector } from "@ferry/s3-connector";
import { webhookConnector } from "@ferry/webhook-connector";
import { loadConfig as loadWatchdogConfig } from "@ferry/watchdog";

/** Environment variables as a deployment sets them. */
export type Env = Record<string, string>;

/**
 * Values an operator provides for the secrets a deployment requires (compose `.env` variables,
 * Kubernetes Secrets by `name/key`), in the format the services expect, so the services' config
 * schemas check them as they would the real ones.
 */
export const OPERATOR_SECRETS: Record<string, string> = {
  FERRY_ADMIN_TOKEN: "an-operator-token-of-some-length",
  FERRY_CALLBACK_SECRET: `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
  "ferry-gateway-auth/token": "an-operator-token-of-some-length",
  "ferry-gateway-auth/users": "admin:an-operator-token-of-some-length",
  "ferry-callback-signing/secrets": `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
};

/** A compose value with `${VAR}`, `${VAR:?…}` and `${VAR:-default}` filled in as compose would. */
export function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::?([-?])([^}]*))?\}/g, (_, name: string, op, rest: string) => {
    const given = OPERATOR_SECRETS[name] ?? process.env[name];
    if (given !== undefined) return given;
    return op === "-" ? rest : "";
  });
}

/** How a deployment starts an entry of the services image. */
export interface Launch {
  /** Environment variables as set (a value taken from a Secret is a placeholder). */
  env: Env;
  /** Command-line arguments after the entry. */
  args: string[];
  /** The repository path of the file the deployment provides at a container path, if any. */
  file(containerPath: string): string | undefined;
}

/** What a deployment may run from the services image, and how to check its settings. */
export interface ServiceTarget {
  /** The entry's TypeScript source, which must exist. */
  source: string;
  /** Every environment variable the entry reads when launched so. */
  known(launch: Launch): string[];
  /** Validates a launch (throws on a bad value or file) and returns the ports it listens on. */
  ports(launch: Launch): number[];
  /** How long the process may take to stop after SIGTERM, in ms. */
  stopDeadlineMs(launch: Launch): number;
  /** Topics a connector publishes on, from its config file. */
  topics?(launch: Launch): string[];
}

const keys = (schema: z.ZodObject): string[] => Object.keys(schema.shape);

/**
 * A connector entry: its process variables (ConnectorEnv) plus its config file, validated by the
 * connector's own schema and built into a source as its process would (which fails when a
 * secret the file names is not set).
 */
function connectorTarget<C extends { source?: string | undefined }>(
  def: ConnectorDefinition<C>,
  of: {
    listens: (config: C) => number[];
    secrets: (config: C) => string[];
    topics: (config: C) => string[];
  },
): ServiceTarget {
  const configOf = (launch: Launch): C => {
    const { values } = parseArgs({
      args: launch.args,
      options: { config: { type: "string", short: "c" } },
      strict: false,
    });
    const path = typeof values.config === "string" ? values.config : launch.env.CONNECTOR_CONFIG;
    const file = path === undefined ? undefined : launch.file(path);
    if (!file) throw new Error(`${def.kind} connector: no repository file at ${path}`);
    return def.schema.parse(parse(readFileSync(join(REPO_ROOT, file), "utf8")));
  };
  return {
    source: `connectors/${def.kind}/src/main.ts`,
    known: (launch) => [...keys(ConnectorEnv), ...of.secrets(configOf(launch))],
    ports: (launch) => {
      const env = ConnectorEnv.parse(launch.env);
      const config = configOf(launch);
      def.create(config, launch.env);
      return [env.HEALTH_PORT, ...of.listens(config)];
    },
    // run.ts uses onShutdown's default deadline.
    stopDeadlineMs: () => 30_000,
    topics: (launch) => of.topics(configOf(launch)),
  };
}

/** The services image's entries, by the path a deployment passes to `node`. */
export const SERVICE_TARGETS: Record<string, ServiceTarget> = {
  "services/gateway/dist/main.js": {
    source: "services/gateway/src/main.ts",
    known: () => keys(GatewayConfig),
    ports: ({ env }) => [GatewayConfig.parse(env).PORT],
    // main.ts uses onShutdown's default deadline.
    stopDeadlineMs: () => 30_000,
  },
  "services/queue-worker/dist/main.js": {
    source: "services/queue-worker/src/main.ts",
    known: () => keys(WorkerConfig),
    ports: ({ env }) => [WorkerConfig.parse(env).HEALTH_PORT],
    // main.ts: SHUTDOWN_DEADLINE for running calls, then 5 s to close connections.
    stopDeadlineMs: ({ env }) => WorkerConfig.parse(env).SHUTDOWN_DEADLINE + 5_000,
  },
  "services/callbacks/dist/main.js": {
    source: "services/callbacks/src/main.ts",
    known: () => keys(CallbacksConfig),
    ports: ({ env }) => [CallbacksConfig.parse(env).HEALTH_PORT],
    stopDeadlineMs: () => 30_000,
  },
  "services/router/dist/main.js": {
    source: "services/router/src/main.ts",
    known: () => keys(RouterConfig),
    ports: ({ env }) => [RouterConfig.parse(env).HEALTH_PORT],
    // main.ts uses onShutdown's default deadline (fan-outs in flight get 10 s of it).
    stopDeadlineMs: () => 30_000,
  },
  "connectors/cron/dist/main.js": connectorTarget(cronConnector, {
    listens: () => [],
    secrets: () => [],
    topics: (c) => Object.values(c.schedules).map((s) => s.topic),
  }),
  "connectors/webhook/dist/main.js": connectorTarget(webhookConnector, {
    // Only a server bound to every interface is reachable from outside its container.
    listens: (c) => (c.host === "0.0.0.0" || c.host === "::" ? [c.port] : []),
    secrets: (c) => Object.values(c.hooks).flatMap((h) => h.verify.secretEnv ?? []),
    topics: (c) => Object.values(c.hooks).map((h) => h.topic),
  }),
  "connectors/kafka/dist/main.js": connectorTarget(kafkaConnector, {
    listens: () => [],
    secrets: (c) => (c.sasl ? [c.sasl.passwordEnv] : []),
    topics: (c) => [c.topic, ...(c.errorTopic ? [c.errorTopic] : [])],
  }),
  "connectors/s3/dist/main.js": connectorTarget(s3Connector, {
    // Only a push server bound to every interface is reachable from outside its container.
    listens: (c) =>
      c.push && (c.push.host === "0.0.0.0" || c.push.host === "::") ? [c.push.port] : [],
    secrets: (c) => [
      ...(c.push?.minio?.tokenEnv ? [c.push.minio.tokenEnv] : []),
      ...(c.poll?.accessKeyIdEnv ? [c.poll.accessKeyIdEnv] : []),
      ...(c.poll?.secretAccessKeyEnv ? [c.poll.secretAccessKeyEnv] : []),
    ],
    topics: (c) => [c.topic],
  }),
  "services/ferry/dist/main.js": {
    source: "services/ferry/src/main.ts",
    // cli.ts and the gateway client commands read these directly.
    known: () => [
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

/** Every key of a launch's environment that its target does not read. */
export function unknownVars(target: ServiceTarget, launch: Launch): string[] {
  const known = target.known(launch);
  // OTEL_* belong to the OpenTelemetry SDK (started by every entry through startSdk), not to a
  // service's own config schema.
  return Object.keys(launch.env).filter((k) => !known.includes(k) && !k.startsWith("OTEL_"));
}

/**
 * The callback delivery settings a queue-worker and a callbacks service would run with. The worker
 * makes each callback's first attempt and the service the retries: a deployment must give both the
 * same (the same signing secrets above all).
 */
export function callbackDeliveryOf(env: Env): CallbackDeliveryConfig {
  return CallbackDeliveryConfig.parse(env);
}
