import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger } from "@ferry/runtime";
import {
  startAll,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
} from "@ferry/testkit";
import { CliError, program, startStack, type Io, type Stack } from "../src/index.js";
import { FIXTURES, eventually } from "./helpers.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let stack: Stack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-cli-"));
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
  stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    callbackAllowlist: ["127.0.0.1"],
    provider: { baseDir: dir },
  });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** Runs `ferry ARGS` in this process against the test gateway. */
async function ferry(
  args: string[],
  stdin = "",
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    stdin: async () => Buffer.from(stdin),
    isTTY: false,
    env: { FERRY_GATEWAY_URL: stack.gatewayUrl },
  };
  try {
    await program(io).exitOverride().parseAsync(args, { from: "user" });
    return { code: 0, out, err };
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    return { code: e.exitCode, out, err: err + e.message };
  }
}

const fileWith = async (name: string, yaml: string): Promise<string> => {
  const file = join(dir, name);
  await writeFile(file, yaml);
  return file;
};

const recorderYaml = (timeout: string): string => `
version: 1
functions:
  rec:
    watchdog: { fprocess: node recorder.js, mode: http, workdir: ${FIXTURES} }
    env: { RUN_LOG: ${join(dir, "rec.log")} }
    minReplicas: 0
    timeout: ${timeout}
`;

describe("ferry CLI", () => {
  test("ferry deploy - an invalid file prints each problem with its path and changes nothing", async () => {
    const file = await fileWith(
      "bad.yaml",
      `functions:
  good:
    url: http://127.0.0.1:9/
  bad:
    watchdog: { fprocess: x, mode: bogus }
    minReplicas: -1
`,
    );
    const res = await ferry(["deploy", "-f", file]);
    expect(res.code).toBe(2);
    expect(res.err).toContain(`${file}: functions.bad.watchdog.mode:`);
    expect(res.err).toContain(`${file}: functions.bad.minReplicas:`);
    expect(res.err).toContain("nothing was deployed");
    expect(stack.registry.list()).toHaveLength(0);
  });

  test("ferry deploy - --dry-run prints the diff and changes nothing; without it creates, then updates", async () => {
    const v1 = await fileWith("v1.yaml", recorderYaml("10s"));
    const dry = await ferry(["deploy", "-f", v1, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("+ rec (new)");
    expect(stack.registry.get("rec")).toBeUndefined();
    expect((await ferry(["deploy", "-f", v1])).code).toBe(0);
    await eventually(() => stack.registry.get("rec")?.timeout === 10_000, 5_000);
    const v2 = await fileWith("v2.yaml", recorderYaml("20s"));
    const plan = await ferry(["deploy", "-f", v2, "--dry-run"]);
    expect(plan.out).toContain("~ rec (changed: timeout)");
    expect(stack.registry.get("rec")?.timeout).toBe(10_000);
    expect((await ferry(["deploy", "-f", v2, "--json"])).out).toContain('"action":"update"');
    await eventually(() => stack.registry.get("rec")?.timeout === 20_000, 5_000);
  });

  test("ferry invoke --async - prints the call id, and ferry status shows the final state", async () => {
    const res = await ferry(
      ["invoke", "rec", "--async", "--callback-url", `${sink.url}/cli`, "-H", "x-extra=1"],
      "from stdin",
    );
    expect(res.code).toBe(0);
    const callId = res.out.trim();
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    const [cb] = await sink.waitFor(1, { filter: (r) => r.headers["x-call-id"] === callId });
    expect(cb?.body.toString()).toBe("from stdin");
    let status: { status?: string; statusCode?: number } = {};
    await eventually(async () => {
      const out = await ferry(["status", callId, "--json"]);
      status = out.code === 0 ? (JSON.parse(out.out) as typeof status) : {};
      return status.status === "succeeded";
    }, 10_000);
    expect(status.statusCode).toBe(200);
    expect((await ferry(["status", callId])).out).toMatch(/status\s+succeeded/);
  });

  test("ferry invoke - a sync call prints the function's answer", async () => {
    const res = await ferry(["invoke", "rec"], "sync body");
    expect(res).toMatchObject({ code: 0, out: "sync body" });
  });

  test("ferry list, describe, queues and remove - tables for people, JSON for scripts", async () => {
    const listed = JSON.parse((await ferry(["list", "--json"])).out) as { name: string }[];
    expect(listed.map((f) => f.name)).toEqual(["rec"]);
    expect((await ferry(["list"])).out).toMatch(/^NAME\s+QUEUE\s+READY/);
    expect((await ferry(["describe", "rec"])).out).toContain("name: rec");
    expect((await ferry(["queues"])).out).toMatch(/default\s+\d+\s+\d+\s+\d+\s+rec/);
    expect((await ferry(["remove", "rec"])).out).toBe("removed rec\n");
    await eventually(() => stack.registry.get("rec") === undefined, 5_000);
    const again = await ferry(["remove", "rec"]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("FERRY_ERR_FUNCTION_NOT_FOUND");
  });
});
