import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger, freePort } from "@ferry/runtime";
import {
  startAll,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
} from "@ferry/testkit";
import { up, type Up } from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let dir: string;
let running: Up | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-up-events-"));
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
});

afterAll(async () => {
  await running?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("ferry up with connectors", () => {
  test("ferry up - runs the router and the connectors of --connectors: a token webhook reaches its function", async () => {
    const hookPort = await freePort();
    await writeFile(
      join(dir, "functions.yaml"),
      `version: 1\nfunctions:\n  deployer:\n    url: ${sink.url}/deployer\n    triggers: [ci.*]\n`,
    );
    await mkdir(join(dir, "connectors"));
    await writeFile(
      join(dir, "connectors", "hooks.yaml"),
      `connector: webhook\nport: ${hookPort}\nhooks:\n  deploy:\n    topic: ci.deploy\n` +
        `    verify: { type: token, secretEnv: DEPLOY_TOKEN }\n`,
    );
    running = await up({
      file: join(dir, "functions.yaml"),
      port: 0,
      host: "127.0.0.1",
      dataDir: join(dir, "data"),
      natsUrl: nats.url,
      redisUrl: redis.url,
      logger,
      connectors: [join(dir, "connectors")],
      env: { DEPLOY_TOKEN: "s3cret" },
    });
    const res = await fetch(`http://127.0.0.1:${hookPort}/hooks/deploy`, {
      method: "POST",
      headers: { authorization: "Bearer s3cret", "content-type": "application/json" },
      body: '{"sha":"abc"}',
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const [call] = await sink.waitFor(1, { filter: (r) => r.url.startsWith("/deployer") });
    expect(call?.headers["ce-id"]).toBe(id);
    expect(call?.headers["x-topic"]).toBe("ci.deploy");
    expect(call?.body.toString()).toBe('{"sha":"abc"}');
  });
});
