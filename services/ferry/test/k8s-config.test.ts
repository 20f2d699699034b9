import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { describe, expect, test } from "vitest";
import { Streams, queueConsumerName, topicMatches } from "@ferry/contracts";
import { REPO_ROOT } from "@ferry/testkit";
import { loadFunctionsFile } from "../src/index.js";
import {
  OPERATOR_SECRETS,
  callbackDeliveryOf,
  SERVICE_TARGETS,
  hostPort,
  inRepo,
  readYaml,
  unknownVars,
  watchdogTarget,
  type Launch,
} from "./deploy-targets.js";

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  ports?: Array<{ name: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: Array<{ name: string; configMap?: { name: string } }>;
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: {
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    selector?: { matchLabels: Record<string, string> } | Record<string, string>;
    ports?: Array<{ port: number; targetPort: string | number }>;
    scaleTargetRef?: { name: string };
    triggers?: Array<{ type: string; metadata: Record<string, string> }>;
  };
}

interface Kustomization {
  resources: string[];
  configMapGenerator: Array<{ name: string; files: string[] }>;
}

const K8S = "infra/k8s";
/** The optional components (Kafka and S3 connectors), checked as if every one were enabled. */
const COMPONENTS = readdirSync(join(REPO_ROOT, K8S, "components")).map(
  (name) => `${K8S}/components/${name}`,
);
/** The base and every component, with their paths relative to the repository. */
const kustomizations = [K8S, ...COMPONENTS].map((dir) => {
  const k = readYaml(`${dir}/kustomization.yaml`)[0] as Kustomization;
  return {
    resources: k.resources.map((f) => `${dir}/${f}`),
    configMapGenerator: (k.configMapGenerator ?? []).map((g) => ({
      name: g.name,
      files: g.files.map((f) => `${dir}/${f}`),
    })),
  };
});
const manifests = kustomizations.flatMap((k) =>
  k.resources.flatMap((f) => readYaml(f) as Manifest[]),
);
/** Files of a generated ConfigMap, merged over the base and the components. */
const mapFiles = (map: string | undefined): string[] =>
  kustomizations
    .flatMap((k) => k.configMapGenerator.filter((g) => g.name === map))
    .flatMap((g) => g.files);
const ofKind = (kind: string): Manifest[] => manifests.filter((m) => m.kind === kind);
/** A container's environment; a value from a Secret is what the operator puts in it. */
const envOf = (c: Container): Record<string, string> =>
  Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? secretValue(e.valueFrom)]));

function secretValue(from: unknown): string {
  const ref = (from as { secretKeyRef?: { name: string; key: string } } | undefined)?.secretKeyRef;
  return ref ? (OPERATOR_SECRETS[`${ref.name}/${ref.key}`] ?? "secret") : "";
}

/** How a container starts: env, args after the entry, and files from generated ConfigMaps. */
const launchOf = (c: Container, pod: PodSpec): Launch => ({
  env: envOf(c),
  args: c.args?.slice(1) ?? [],
  file(path) {
    const mount = c.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
    const map = pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name;
    const file = mapFiles(map).find(
      (f) => basename(f) === path.slice((mount?.mountPath.length ?? 0) + 1),
    );
    return file;
  },
});
const portNumber = (c: Container, port: string | number): number =>
  typeof port === "number" ? port : (c.ports?.find((p) => p.name === port)?.containerPort ?? -1);
const preStopSeconds = (c: Container): number =>
  Number(c.lifecycle?.preStop?.exec?.command.at(-1) ?? 0) || 0;

/** Ports, stop deadline and readiness path of a workload's container, from the target's config. */
function targetOf(
  c: Container,
  pod: PodSpec,
): { ports: number[]; stopDeadlineMs: number; ready: string } {
  if (c.image === "ferry") {
    const target = SERVICE_TARGETS[c.args?.[0] ?? ""];
    expect(target, `entry ${c.args?.[0]}`).toBeDefined();
    expect(inRepo(target!.source)).toBe(true);
    const launch = launchOf(c, pod);
    expect(unknownVars(target!, launch)).toEqual([]);
    return {
      ports: target!.ports(launch),
      stopDeadlineMs: target!.stopDeadlineMs(launch),
      ready: "/readyz",
    };
  }
  expect(c.image).toMatch(/^ferry-fn-/);
  return { ...watchdogTarget(envOf(c)), ready: "/_/ready" };
}

describe("infra/k8s", () => {
  test("k8s - the queue-worker and the callbacks service deliver callbacks alike, signed", () => {
    const envOfDeployment = (name: string): Record<string, string> => {
      const d = ofKind("Deployment").find((m) => m.metadata.name === name);
      const container = d?.spec.template?.spec.containers[0];
      expect(container, name).toBeDefined();
      return envOf(container!);
    };
    const worker = callbackDeliveryOf(envOfDeployment("queue-worker"));
    expect(worker).toEqual(callbackDeliveryOf(envOfDeployment("callbacks")));
    expect(worker.CALLBACK_SIGNING_SECRETS).toHaveLength(1);
  });

  test("k8s - every workload runs a real entry with known variables, its config's ports and readiness", () => {
    const workloads = [...ofKind("Deployment"), ...ofKind("Job")];
    expect(workloads.map((w) => w.metadata.name).sort()).toEqual(
      [
        "callbacks",
        "connector-cron",
        "connector-kafka",
        "connector-s3",
        "connector-webhook",
        "ferry-functions-deploy",
        "fn-echo",
        "gateway",
        "queue-worker",
        "router",
      ].sort(),
    );
    for (const w of workloads) {
      for (const c of w.spec.template!.spec.containers) {
        const target = targetOf(c, w.spec.template!.spec);
        for (const p of c.ports ?? [])
          expect(target.ports, w.metadata.name).toContain(p.containerPort);
        if (w.kind !== "Deployment") continue;
        const probe = c.readinessProbe?.httpGet;
        expect(probe?.path, w.metadata.name).toBe(target.ready);
        expect(target.ports).toContain(portNumber(c, probe!.port));
      }
    }
  });

  test("k8s - termination grace is longer than the drain deadline plus preStop", () => {
    for (const d of ofKind("Deployment")) {
      const pod = d.spec.template!.spec;
      for (const c of pod.containers) {
        const needMs = targetOf(c, pod).stopDeadlineMs + preStopSeconds(c) * 1000;
        expect((pod.terminationGracePeriodSeconds ?? 30) * 1000, d.metadata.name).toBeGreaterThan(
          needMs,
        );
      }
    }
  });

  test("k8s - every Deployment selects its own pods, has a PodDisruptionBudget, and stream replicas are 3", () => {
    const pdbs = ofKind("PodDisruptionBudget");
    for (const d of ofKind("Deployment")) {
      const labels = d.spec.template!.metadata.labels;
      // A Deployment whose selector misses its own pods is refused by the API server.
      const selector = d.spec.selector as { matchLabels: Record<string, string> };
      expect(labels, d.metadata.name).toMatchObject(selector.matchLabels);
      const covered = pdbs.some((p) =>
        Object.entries(
          (p.spec.selector as { matchLabels: Record<string, string> }).matchLabels,
        ).every(([k, v]) => labels[k] === v),
      );
      expect(covered, d.metadata.name).toBe(true);
      for (const c of d.spec.template!.spec.containers) {
        const replicas = envOf(c).STREAM_REPLICAS;
        if (replicas !== undefined) expect(replicas, d.metadata.name).toBe("3");
      }
    }
    // The deploy Job goes through the gateway, which creates the registry bucket with its replicas.
    const job = ofKind("Job")[0]!.spec.template!.spec.containers[0]!;
    expect(envOf(job).FERRY_GATEWAY_URL).toBe("http://gateway.ferry.svc:8080");
    const gateway = ofKind("Deployment").find((d) => d.metadata.name === "gateway");
    expect(envOf(gateway!.spec.template!.spec.containers[0]!).STREAM_REPLICAS).toBe("3");
  });

  test("k8s - KEDA scales on a queue consumer of FERRY_INVOKE through the NATS monitoring port", async () => {
    const specs = await loadFunctionsFile(join(REPO_ROOT, K8S, "functions.yaml"));
    const consumers = specs.map((s) => queueConsumerName(s.queue));
    const scaled = ofKind("ScaledObject");
    expect(scaled.map((s) => s.spec.scaleTargetRef?.name).sort()).toEqual([
      "fn-echo",
      "queue-worker",
    ]);
    for (const so of scaled) {
      expect(
        ofKind("Deployment").some((d) => d.metadata.name === so.spec.scaleTargetRef?.name),
      ).toBe(true);
      for (const t of so.spec.triggers ?? []) {
        expect(t.type).toBe("nats-jetstream");
        expect(t.metadata.stream).toBe(Streams.Invoke);
        expect(consumers).toContain(t.metadata.consumer);
        expect(t.metadata.natsServerMonitoringEndpoint).toMatch(/:8222$/);
        expect(Number(t.metadata.lagThreshold)).toBeGreaterThan(0);
        expect(t.metadata.activationLagThreshold).toBeDefined();
      }
    }
  });

  test("k8s - function urls and service URLs name Services on their target ports", async () => {
    const services = new Map(ofKind("Service").map((s) => [s.metadata.name, s]));
    const specs = await loadFunctionsFile(join(REPO_ROOT, K8S, "functions.yaml"));
    for (const spec of specs) {
      const { host, port } = hostPort(spec.url ?? "");
      const svc = services.get(host.split(".")[0]!);
      expect(svc?.spec.ports?.[0]?.port, spec.name).toBe(port);
    }
    const redisUrls = ofKind("Deployment").flatMap((d) =>
      d.spec.template!.spec.containers.map((c) => envOf(c).REDIS_URL).filter(Boolean),
    );
    for (const url of redisUrls)
      expect(services.has(hostPort(url!).host.split(".")[0]!)).toBe(true);
  });

  test("k8s - every Service targets a named port that its pods listen on", () => {
    for (const svc of ofKind("Service")) {
      const selector = svc.spec.selector as Record<string, string>;
      const pods = [...ofKind("Deployment"), ...ofKind("StatefulSet")].filter((d) =>
        Object.entries(selector).every(([k, v]) => d.spec.template!.metadata.labels[k] === v),
      );
      expect(pods.length, svc.metadata.name).toBeGreaterThan(0);
      for (const d of pods) {
        const pod = d.spec.template!.spec;
        const c = pod.containers[0]!;
        // Ferry's own images must listen there; others (Redis) must at least declare the port.
        const ours = c.image === "ferry" || c.image.startsWith("ferry-fn-");
        const ports = ours ? targetOf(c, pod).ports : (c.ports ?? []).map((p) => p.containerPort);
        for (const p of svc.spec.ports ?? []) {
          expect(ports, svc.metadata.name).toContain(portNumber(c, p.targetPort));
        }
      }
    }
  });

  test("k8s - every connector topic invokes a function through its triggers", async () => {
    const specs = await loadFunctionsFile(join(REPO_ROOT, K8S, "functions.yaml"));
    const topics = ofKind("Deployment").flatMap((d) =>
      d.spec.template!.spec.containers.flatMap(
        (c) =>
          SERVICE_TARGETS[c.args?.[0] ?? ""]?.topics?.(launchOf(c, d.spec.template!.spec)) ?? [],
      ),
    );
    expect(topics.length).toBeGreaterThan(0);
    for (const topic of topics) {
      expect(
        specs.some((f) => f.triggers?.some((p) => topicMatches(p, topic))),
        topic,
      ).toBe(true);
    }
  });

  test.skipIf(spawnSync("kubectl", ["version", "--client"]).status !== 0)(
    "k8s - kubectl kustomize builds the manifests",
    () => {
      const res = spawnSync("kubectl", ["kustomize", join(REPO_ROOT, K8S)], { encoding: "utf8" });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toContain("kind: ScaledObject");
      expect(res.stdout).not.toContain("connector-kafka");
      // With the components enabled (kustomize takes only relative paths to them).
      const dir = mkdtempSync(join(tmpdir(), "ferry-k8s-"));
      try {
        const rel = (p: string): string => relative(dir, join(REPO_ROOT, p));
        writeFileSync(
          join(dir, "kustomization.yaml"),
          stringify({ resources: [rel(K8S)], components: COMPONENTS.map(rel) }),
        );
        const all = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
        expect(all.status, all.stderr).toBe(0);
        const docs = parseAllDocuments(all.stdout).map((d) => d.toJS() as Manifest);
        // Each connector Deployment mounts its generated (hashed) ConfigMap holding its file.
        for (const name of ["cron", "webhook", "kafka", "s3"]) {
          const d = docs.find(
            (m) => m.kind === "Deployment" && m.metadata.name === `connector-${name}`,
          );
          const mapName = d?.spec.template?.spec.volumes?.[0]?.configMap?.name;
          const map = docs.find((m) => m.kind === "ConfigMap" && m.metadata.name === mapName) as
            { data: Record<string, string> } | undefined;
          expect(Object.keys(map?.data ?? {}), name).toContain(`${name}.yaml`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
