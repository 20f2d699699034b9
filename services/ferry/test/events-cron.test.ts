import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Streams, eventSubject } from "@ferry/contracts";
import { createRouter, type Router } from "@ferry/router";
import { createLogger, freePort } from "@ferry/runtime";
import {
  startAll,
  spawnTs,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
  type TsProcess,
} from "@ferry/testkit";
import { startStack, type Stack } from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let stack: Stack;
let router: Router;
let dir: string;
const replicas: TsProcess[] = [];

const CONFIG = `
connector: cron
source: /test/cron
schedules:
  fast:
    cron: "* * * * * *"
    topic: cron.fast
    body: { hello: cron }
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-cron-"));
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  stack = await startStack({ natsUrl: nats.url, redisUrl: redis.url, logger, port: 0 });
  await stack.registry.put({
    name: "on-tick",
    queue: "default",
    url: `${sink.url}/on-tick`,
    env: {},
    timeout: 10_000,
    triggers: ["cron.fast"],
  });
  router = await createRouter({ nc: stack.nc, registry: stack.registry, logger });
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.kill("SIGKILL")));
  await router?.stop();
  await stack?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("cron connector", () => {
  test("cron replicas - three replicas, one SIGKILLed midway: each 1 s tick invokes its function once", async () => {
    const file = join(dir, "cron.yaml");
    await writeFile(file, CONFIG);
    const healthPort = await freePort();
    for (let i = 0; i < 3; i++) {
      const port = i === 0 ? String(healthPort) : "0";
      replicas.push(
        spawnTs("connectors/cron/src/main.ts", {
          args: ["-c", file],
          env: { NATS_URL: nats.url, HEALTH_PORT: port, LOG_LEVEL: "debug" },
        }),
      );
    }
    await Promise.all(replicas.map((r) => r.waitForOutput("cron connector running")));
    await sleep(4_000);
    await replicas[1]?.kill("SIGKILL");
    await sleep(6_000);
    expect((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    expect(metrics).toMatch(/connector_events_published_total\{[^}]*topic="cron.fast"/);
    expect(metrics).toMatch(/connector_lag_seconds\{connector="cron"\} \d/);
    await Promise.all([replicas[0]?.kill("SIGTERM"), replicas[2]?.kill("SIGTERM")]);
    // Graceful shutdown: both stop cleanly.
    expect([replicas[0]?.child.exitCode, replicas[2]?.child.exitCode]).toEqual([0, 0]);
    await sleep(1_500);

    const ticks = sink.requests.filter((r) => r.url.startsWith("/on-tick"));
    const byId = new Map<string, number>();
    for (const r of ticks)
      byId.set(String(r.headers["ce-id"]), (byId.get(String(r.headers["ce-id"])) ?? 0) + 1);
    const times = [...byId.keys()].map((id) => Date.parse(id.replace("cron:fast:", ""))).sort();
    console.log(
      `cron: ${byId.size} ticks, ${ticks.length} invocations, from ${new Date(times[0] ?? 0).toISOString()}`,
    );
    expect(byId.size).toBeGreaterThanOrEqual(9);
    expect([...byId.values()].every((n) => n === 1)).toBe(true);
    // No tick missing while one replica was killed: consecutive seconds throughout.
    expect(times.slice(1).every((t, i) => t - (times[i] ?? 0) === 1_000)).toBe(true);
    expect(ticks[0]?.body.toString()).toBe('{"hello":"cron"}');
    expect(ticks[0]?.headers["content-type"]).toBe("application/json");
    // Deduplicated at the stream already: one stored event per tick.
    const info = await (
      await jetstreamManager(stack.nc)
    ).streams.info(Streams.Events, {
      subjects_filter: eventSubject("cron.fast"),
    });
    expect(info.state.subjects?.[eventSubject("cron.fast")]).toBe(byId.size);
    // Every replica published the ticks; JetStream dropped the repeats.
    const duplicates = replicas.map((r) => r.output().match(/"duplicate":true/g)?.length ?? 0);
    expect(duplicates.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
  });
});
