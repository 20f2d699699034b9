import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { REPO_ROOT } from "@ferry/testkit";
import { loadFunctionsFile } from "../src/index.js";
import {
  SERVICE_TARGETS,
  hostPort,
  inRepo,
  readYaml,
  unknownVars,
  watchdogTarget,
  type Env,
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
}

const compose = readYaml("docker-compose.yml")[0] as { services: Record<string, ComposeService> };
const services = Object.entries(compose.services);
const isFunction = (s: ComposeService): boolean =>
  s.build?.dockerfile === "infra/docker/function.Dockerfile";
const fromServicesImage = services.filter(([, s]) => s.image === "ferry:dev");
const functions = services.filter(([, s]) => isFunction(s));
const hasCommand = (cmd: string): boolean => spawnSync(cmd, ["--version"]).status === 0;

/** The port of the first URL in a healthcheck's command. */
const healthPort = (s: ComposeService): number =>
  Number(/127\.0\.0\.1:(\d+)/.exec(s.healthcheck?.test.join(" ") ?? "")?.[1]);

describe("docker-compose.yml", () => {
  test("compose - every services-image command is a real service entry whose variables and ports match its config", () => {
    expect(fromServicesImage.map(([n]) => n).sort()).toEqual(
      ["callbacks", "functions-deploy", "gateway", "queue-worker"].sort(),
    );
    for (const [name, s] of fromServicesImage) {
      const entry = s.command?.[0] ?? "";
      const target = SERVICE_TARGETS[entry];
      expect(target, `${name}: ${entry}`).toBeDefined();
      expect(inRepo(target!.source), target!.source).toBe(true);
      const env = s.environment ?? {};
      expect(unknownVars(env, target!.known), name).toEqual([]);
      const ports = target!.ports(env);
      for (const published of s.ports ?? []) {
        expect(ports, `${name} publishes ${published}`).toContain(Number(published.split(":")[1]));
      }
      if (s.healthcheck) expect(ports, `${name} healthcheck`).toContain(healthPort(s));
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
        : SERVICE_TARGETS[s!.command![0]!]!.ports(s!.environment ?? {});
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
      expect(unknownVars(env, target.known), name).toEqual([]);
      target.ports(env);
      for (const url of env.NATS_URL?.split(",") ?? []) {
        expect(nodes.has(hostPort(url).host), `${name}: ${url}`).toBe(true);
      }
      if (env.STREAM_REPLICAS) expect(env.STREAM_REPLICAS).toBe("3");
    }
    expect(override.services["functions-deploy"]?.command?.slice(-2)).toEqual(["--replicas", "3"]);
  });

  test.skipIf(!hasCommand("docker-compose"))(
    "compose - docker-compose config -q accepts the file, alone and with the cluster override",
    () => {
      const base = join(REPO_ROOT, "docker-compose.yml");
      const cluster = join(REPO_ROOT, "infra/compose/nats-cluster.yml");
      execFileSync("docker-compose", ["-f", base, "config", "-q"]);
      execFileSync("docker-compose", ["-f", base, "-f", cluster, "config", "-q"]);
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
    const base = stages(dockerfile("function.Dockerfile")).get("function-base") ?? "";
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
