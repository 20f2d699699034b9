import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger, freePort } from "@ferry/runtime";
import {
  startAll,
  REPO_ROOT,
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
  dir = await mkdtemp(join(tmpdir(), "ferry-up-s3-"));
  [nats, redis, sink] = await startAll([startNats(), startRedis(), startHttpSink()]);
});

afterAll(async () => {
  await running?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), sink?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("ferry up with the s3 connector", () => {
  test("ferry up - an s3 push connector file given to --connectors: a MinIO notification invokes the function with Ce-* headers", async () => {
    const port = await freePort();
    await writeFile(
      join(dir, "functions.yaml"),
      `version: 1\nfunctions:\n  thumbnail:\n    url: ${sink.url}/thumbnail\n    triggers: [s3.>]\n`,
    );
    await writeFile(
      join(dir, "s3.yaml"),
      `connector: s3\ntopic: s3.images\npush:\n  port: ${port}\n  minio: { tokenEnv: MINIO_TOKEN }\n`,
    );
    running = await up({
      file: join(dir, "functions.yaml"),
      port: 0,
      host: "127.0.0.1",
      dataDir: join(dir, "data"),
      natsUrl: nats.url,
      redisUrl: redis.url,
      logger,
      connectors: [join(dir, "s3.yaml")],
      env: { MINIO_TOKEN: "tok" },
    });
    const body = await readFile(join(REPO_ROOT, "connectors/s3/test/fixtures/minio-put.json"));
    const res = await fetch(`http://127.0.0.1:${port}/minio`, {
      method: "POST",
      headers: { authorization: "Bearer tok", "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(202);
    const [call] = await sink.waitFor(1, { filter: (r) => r.url.startsWith("/thumbnail") });
    expect(call?.headers).toMatchObject({
      "x-topic": "s3.images",
      "ce-type": "ObjectCreated:Put",
      "ce-subject": "cat photo.png",
      "ce-s3bucket": "images",
    });
    expect(JSON.parse(call?.body.toString() ?? "{}")).toMatchObject({ eventSource: "minio:s3" });
  });
});
