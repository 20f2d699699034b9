import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { topicMatches } from "@ferry/contracts";
import { Duration } from "@ferry/runtime";
import { REPO_ROOT } from "@ferry/testkit";
import { loadFunctionsFile } from "../src/index.js";
import {
  OPERATOR_SECRETS,
  SERVICE_TARGETS,
  callbackDeliveryOf,
  hostPort,
  inRepo,
  interpolate,
  readYaml,
  unknownVars,
  watchdogTarget,
  type Env,
  type Launch,
} from "./deploy-targets.js";

interface ComposeService {
  image?: string;
  build?: { dockerfile?: string; args?: Record<string, string> };
  command?: string[];
  environment?: Env;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  stop_grace_period?: string;
  restart?: string;
}

const compose = readYaml("docker-compose.yml")[0] as { services: Record<string, ComposeService> };
// Variables as compose fills them in from the operator's `.env`.
for (const s of Object.values(compose.services)) {
  if (s.environment) {
    s.environment = Object.fromEntries(
      Object.entries(s.environment).map(([k, v]) => [k, interpolate(String(v))]),
    );
  }
}
const services = Object.entries(compose.services);
const isFunction = (s: ComposeService): boolean =>
  s.build?.dockerfile === "infra/docker/function.Dockerfile";
const fromServicesImage = services.filter(([, s]) => s.image === "ferry:dev");
const functions = services.filter(([, s]) => isFunction(s));
const hasCommand = (cmd: string): boolean => spawnSync(cmd, ["--version"]).status === 0;

/** The port and path of the first URL in a healthcheck's command. */
const healthUrl = (s: ComposeService): { port: number; path: string } => {
  const m = /127\.0\.0\.1:(\d+)(\/[^'"\s]*)?/.exec(s.healthcheck?.test.join(" ") ?? "");
  return { port: Number(m?.[1]), path: m?.[2] ?? "" };
};
const healthPort = (s: ComposeService): number => healthUrl(s).port;

/** How compose starts a service: its environment, arguments and bind-mounted repository files. */
const launchOf = (s: ComposeService, env: Env = s.environment ?? {}): Launch => ({
  env,
  args: s.command?.slice(1) ?? [],
  file: (path) =>
    (s.volumes ?? [])
      .map((v) => v.split(":"))
      .find(([from, to]) => from?.startsWith("./") && to === path)?.[0]
      ?.slice(2),
});

describe("docker-compose.yml", () => {
  test("compose - every services-image command is a real service entry whose variables and ports match its config", () => {
    expect(fromServicesImage.map(([n]) => n).sort()).toEqual(
      [
        "callbacks",
        "connector-cron",
        "connector-webhook",
        "connector-kafka",
        "connector-s3",
        "functions-deploy",
        "gateway",
        "queue-worker",
        "router",
      ].sort(),
    );
    for (const [name, s] of fromServicesImage) {
      const entry = s.command?.[0] ?? "";
      const target = SERVICE_TARGETS[entry];
      expect(target, `${name}: ${entry}`).toBeDefined();
      expect(inRepo(target!.source), target!.source).toBe(true);
      const launch = launchOf(s);
      expect(unknownVars(target!, launch), name).toEqual([]);
      const ports = target!.ports(launch);
      for (const published of s.ports ?? []) {
        expect(ports, `${name} publishes ${published}`).toContain(Number(published.split(":")[1]));
      }
      if (s.healthcheck) expect(ports, `${name} healthcheck`).toContain(healthPort(s));
    }
  });

  test("compose - long-running services are ready on /readyz and stop within their grace period", () => {
    for (const [name, s] of fromServicesImage.filter(([, s]) => s.restart !== "no")) {
      expect(healthUrl(s).path, `${name} healthcheck`).toBe("/readyz");
      const target = SERVICE_TARGETS[s.command?.[0] ?? ""]!;
      const graceMs = Duration.parse(s.stop_grace_period ?? "10s");
      expect(graceMs, `${name} stop_grace_period`).toBeGreaterThan(
        target.stopDeadlineMs(launchOf(s)),
      );
    }
  });

  test("compose - the queue-worker and the callbacks service deliver callbacks alike, signed", () => {
    const worker = callbackDeliveryOf(compose.services["queue-worker"]?.environment ?? {});
    const callbacks = callbackDeliveryOf(compose.services.callbacks?.environment ?? {});
    expect(worker).toEqual(callbacks);
    expect(worker.CALLBACK_SIGNING_SECRETS).toHaveLength(1);
  });

  test("compose - services that use NATS wait for the gateway, which provisions the streams", () => {
    for (const [name, s] of fromServicesImage.filter(([n]) => n !== "gateway")) {
      if (!s.environment?.NATS_URL) continue;
      expect(s.depends_on?.gateway?.condition, name).toBe("service_healthy");
    }
  });

  test("compose - every connector topic invokes a function through its triggers", async () => {
    const specs = await loadFunctionsFile(join(REPO_ROOT, "infra/compose/functions.yaml"));
    const topics = fromServicesImage.flatMap(
      ([, s]) => SERVICE_TARGETS[s.command?.[0] ?? ""]?.topics?.(launchOf(s)) ?? [],
    );
    expect(topics.length).toBeGreaterThan(0);
    for (const topic of topics) {
      const subscribed = specs.filter((f) => f.triggers?.some((p) => topicMatches(p, topic)));
      expect(subscribed.length, topic).toBeGreaterThan(0);
    }
  });

  test("compose - function containers run real functions with known watchdog variables", () => {
    expect(functions.length).toBeGreaterThan(0);
    for (const [name, s] of functions) {
      const env = s.environment ?? {};
      const { ports } = watchdogTarget(env);
      expect(ports, `${name} healthcheck`).toContain(healthPort(s));
      const dir = s.build?.args?.FUNCTION_DIR ?? "";
      const file = env.fprocess?.split(" ").at(-1) ?? "";
      expect(inRepo(join(dir, file)), `${name}: ${dir}/${file}`).toBe(true);
      const source = readFileSync(join(REPO_ROOT, dir, file), "utf8");
      // Upper-case variables are for the function process, which must read them.
      for (const key of Object.keys(env).filter((k) => /^[A-Z]/.test(k))) {
        expect(source, `${name} sets ${key}`).toContain(key);
      }
      expect(hostPort(env.upstream_url ?? "").port).toBe(Number(env.PORT));
    }
  });

  test("compose - URLs, dependencies and scrape targets name services that exist, on their ports", async () => {
    const names = new Set(services.map(([n]) => n));
    for (const [name, s] of services) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(names.has(dep), `${name} depends on ${dep}`).toBe(true);
        if (condition === "service_healthy")
          expect(compose.services[dep]?.healthcheck).toBeTruthy();
      }
      for (const key of ["NATS_URL", "REDIS_URL"]) {
        const url = s.environment?.[key];
        if (url) expect(names.has(hostPort(url).host), `${name} ${key}`).toBe(true);
      }
    }
    const prom = readYaml("infra/prometheus/prometheus.yml")[0] as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    for (const target of prom.scrape_configs.flatMap((c) => c.static_configs[0]!.targets)) {
      const [host, port] = target.split(":");
      const s = compose.services[host!];
      expect(s, target).toBeDefined();
      const ports = isFunction(s!)
        ? watchdogTarget(s!.environment ?? {}).ports
        : SERVICE_TARGETS[s!.command![0]!]!.ports(launchOf(s!));
      expect(ports, target).toContain(Number(port));
    }
    for (const spec of await loadFunctionsFile(join(REPO_ROOT, "infra/compose/functions.yaml"))) {
      const { host, port } = hostPort(spec.url ?? "");
      expect(watchdogTarget(compose.services[host]?.environment ?? {}).ports[0], spec.name).toBe(
        port,
      );
    }
  });

  test("compose - the NATS cluster override sets known variables and names its nodes", () => {
    const override = readYaml("infra/compose/nats-cluster.yml")[0] as typeof compose;
    const nodes = new Set(["nats-1", ...Object.keys(override.services)]);
    for (const [name, s] of Object.entries(override.services)) {
      const base = compose.services[name];
      const target = SERVICE_TARGETS[s.command?.[0] ?? base?.command?.[0] ?? ""];
      if (!target) continue; // a NATS node
      const env = { ...base?.environment, ...s.environment };
      const launch = launchOf({ ...base, ...s }, env);
      expect(unknownVars(target, launch), name).toEqual([]);
      target.ports(launch);
      for (const url of env.NATS_URL?.split(",") ?? []) {
        expect(nodes.has(hostPort(url).host), `${name}: ${url}`).toBe(true);
      }
      if (env.STREAM_REPLICAS) expect(env.STREAM_REPLICAS).toBe("3");
    }
    expect(override.services["functions-deploy"]?.command?.slice(-2)).toEqual(["--replicas", "3"]);
    // Every client of NATS must know every node, or it cannot fail over.
    for (const [name] of fromServicesImage.filter(([, svc]) => svc.environment?.NATS_URL)) {
      expect(override.services[name]?.environment?.NATS_URL?.split(","), name).toHaveLength(3);
    }
  });

  test.skipIf(!hasCommand("docker-compose"))(
    "compose - docker-compose config -q accepts the file, alone and with the cluster override",
    () => {
      const base = join(REPO_ROOT, "docker-compose.yml");
      const cluster = join(REPO_ROOT, "infra/compose/nats-cluster.yml");
      // The operator token and the signing secret are required; compose refuses to start without.
      const env = { ...process.env, ...OPERATOR_SECRETS };
      execFileSync("docker-compose", ["-f", base, "config", "-q"], { env });
      execFileSync("docker-compose", ["-f", base, "-f", cluster, "config", "-q"], { env });
    },
  );
});

describe("infra/docker", () => {
  const dockerfile = (name: string): string =>
    readFileSync(join(REPO_ROOT, "infra/docker", name), "utf8");
  /** The instructions of each stage, by stage name. */
  const stages = (text: string): Map<string, string> =>
    new Map(
      text
        .split(/^FROM /m)
        .slice(1)
        .map((s) => [/ AS (\S+)/.exec(s.split("\n")[0] ?? "")?.[1] ?? "", s]),
    );

  test("images - the services image runs a real entry as a non-root user without dev dependencies", () => {
    const text = dockerfile("Dockerfile");
    const runtime = stages(text).get("runtime") ?? "";
    expect(runtime).toMatch(/^USER node$/m);
    const cmd = /^CMD \["([^"]+)"\]/m.exec(runtime)?.[1] ?? "";
    expect(SERVICE_TARGETS[cmd], cmd).toBeDefined();
    expect(text).toContain("npm prune --omit=dev");
  });

  test("images - the function base image has the watchdog as entrypoint, as a non-root user", () => {
    const all = stages(dockerfile("function.Dockerfile"));
    const base = all.get("function-base") ?? "";
    // The build stage has a C compiler, so the image gets the watchdog's native spawner.
    expect(all.get("build") ?? "").toMatch(/apt-get install[^\n]* gcc libc6-dev/);
    expect(base).toMatch(/^USER node$/m);
    const entry = /^ENTRYPOINT \["node", "\/opt\/ferry\/([^"]+)"\]/m.exec(base)?.[1] ?? "";
    expect(entry).toBe("services/watchdog/dist/main.js");
    expect(inRepo(entry.replace("dist/main.js", "src/main.ts"))).toBe(true);
  });
});

describe("infra/nats", () => {
  test.each(["single.conf", "cluster.conf"])("nats - %s is a valid nats-server config", (file) => {
    const res = spawnSync("nats-server", ["-t", "-c", join(REPO_ROOT, "infra/nats", file)], {
      env: { ...process.env, NATS_SERVER_NAME: "nats-1" },
      encoding: "utf8",
    });
    expect(res.status, res.stderr).toBe(0);
  });
});
