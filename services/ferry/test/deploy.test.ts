import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connectNats, openFunctionRegistry, type NatsConnection } from "@ferry/jetstream";
import { createLogger } from "@ferry/runtime";
import { spawnTs, startNats, type ServerHandle } from "@ferry/testkit";
import { deploy, FunctionsFileError } from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let nc: NatsConnection;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-deploy-"));
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: "test", logger });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

const GOOD = `version: 1
functions:
  echo:
    url: http://fn-echo:8080
    timeout: 30s
  other:
    queue: python
    url: http://fn-other:8080
`;

describe("ferry deploy", () => {
  test("deploy - stores every spec of the file in the registry", async () => {
    const file = join(dir, "good.yaml");
    await writeFile(file, GOOD);
    expect(await deploy({ file, natsUrl: nats.url, replicas: 1, logger })).toEqual([
      "echo",
      "other",
    ]);
    const registry = await openFunctionRegistry(nc, { logger });
    expect(registry.get("echo")).toMatchObject({ url: "http://fn-echo:8080", queue: "default" });
    expect(registry.get("other")).toMatchObject({ queue: "python", url: "http://fn-other:8080" });
    await registry.close();
  });

  test("deploy - an invalid file names the file and path, and changes nothing", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(file, GOOD.replace("http://fn-echo:8080", "not a url"));
    const first = await openFunctionRegistry(nc, { logger });
    const before = first.list().length;
    await first.close();
    await expect(deploy({ file, natsUrl: nats.url, replicas: 1, logger })).rejects.toThrow(
      FunctionsFileError,
    );
    const cli = spawnTs("services/ferry/src/main.ts", {
      args: ["deploy", "-f", file],
      env: { NATS_URL: nats.url },
    });
    const code = await new Promise((r) => cli.child.once("exit", r));
    expect(code).toBe(2);
    expect(cli.output()).toMatch(new RegExp(`${file}: functions\\.echo\\.url`));
    const registry = await openFunctionRegistry(nc, { logger });
    expect(registry.list().length).toBe(before);
    expect(registry.get("echo")?.url).toBe("http://fn-echo:8080");
    await registry.close();
  });
});
