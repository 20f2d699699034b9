import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort } from "@ferry/runtime";
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
import { signatureValid } from "./helpers-callbacks.js";
import { localSigningSecret } from "../src/local-auth.js";

let nats: ServerHandle;
let redis: ServerHandle;
let sink: HttpSink;
let dir: string;
let ferry: TsProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-up-entry-"));
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
});

afterAll(async () => {
  await ferry?.kill("SIGINT");
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Standard Webhooks: base64 HMAC-SHA256 of `id.timestamp.body` under the secret's bytes. */
describe("ferry up entry", () => {
  test("local secrets - the signing secret is made once, owner-only, and kept across starts", async () => {
    const data = join(dir, "secrets");
    const first = await localSigningSecret(data);
    const again = await localSigningSecret(data);
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.value).toBe(first.value);
    expect(first.value).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect((await stat(first.file)).mode & 0o777).toBe(0o600);
  });

  test("ferry up - callbacks are signed with the local secret it names at start", async () => {
    const data = join(dir, "data");
    await mkdir(join(dir, "no-connectors"));
    await writeFile(
      join(dir, "functions.yaml"),
      `version: 1\nfunctions:\n  echo:\n    url: ${sink.url}/fn\n`,
    );
    const port = await freePort();
    // No dashboard build and no example connectors: this test is about callbacks.
    ferry = spawnTs("services/ferry/src/main.ts", {
      args: [
        "up",
        "-f",
        join(dir, "functions.yaml"),
        "--port",
        String(port),
        "--data-dir",
        data,
        "--no-ui",
        "--connectors",
        join(dir, "no-connectors"),
      ],
      env: {
        NATS_URL: nats.url,
        REDIS_URL: redis.url,
        CALLBACK_ALLOWLIST: "127.0.0.1",
        LOG_LEVEL: "warn",
      },
    });
    await ferry.waitForOutput("Ctrl-C stops everything", 60_000);
    const secretFile = join(data, "signing-secret");
    expect(ferry.output()).toContain(`Callbacks are signed`);
    expect(ferry.output()).toContain(secretFile);
    const secret = (await readFile(secretFile, "utf8")).trim();

    const res = await fetch(`http://127.0.0.1:${port}/async-function/echo`, {
      method: "POST",
      headers: { "x-callback-url": `${sink.url}/cb` },
      body: "sign me",
    });
    expect(res.status).toBe(202);
    const [callback] = await sink.waitFor(1, { filter: (r) => r.url === "/cb" });
    expect(callback?.headers["webhook-id"]).toBe(res.headers.get("x-call-id"));
    expect(signatureValid(secret, callback?.headers ?? {}, callback?.body ?? Buffer.alloc(0))).toBe(
      true,
    );
    // A different secret does not verify: the check above can fail.
    expect(
      signatureValid(
        `whsec_${Buffer.alloc(32, 1).toString("base64")}`,
        callback?.headers ?? {},
        callback?.body ?? Buffer.alloc(0),
      ),
    ).toBe(false);
  });
});
