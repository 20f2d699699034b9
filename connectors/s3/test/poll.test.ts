import {
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Streams, decodeEvent, eventSubject } from "@ferry/contracts";
import { startConnector, type Connector, type Source } from "@ferry/connector-sdk";
import { connectNats, fromMsgHdrs, provisionStreams, type NatsConnection } from "@ferry/jetstream";
import { createLogger } from "@ferry/runtime";
import { startAll, startNats, startS3rver, type ServerHandle } from "@ferry/testkit";
import { PollMode, S3File, createS3Source, pollOnce, type S3Source } from "../src/index.js";

const TOPIC = "s3.polled";
const BUCKET = "uploads";
const ENV = { S3_KEY: "S3RVER", S3_SECRET: "S3RVER" };
const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let s3rver: ServerHandle;
let nc: NatsConnection;
let s3: S3Client;
let running: { source: S3Source; connector: Connector } | undefined;
let seqSeen = 0;

beforeAll(async () => {
  [nats, s3rver] = await startAll([startNats(), startS3rver([BUCKET])]);
  nc = await connectNats({ servers: nats.url, name: "test", logger });
  await provisionStreams(await jetstreamManager(nc));
  const cfg: S3ClientConfig = {
    endpoint: s3rver.url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: ENV.S3_KEY, secretAccessKey: ENV.S3_SECRET },
  };
  s3 = new S3Client(cfg);
});

afterAll(async () => {
  await running?.connector.stop();
  s3?.destroy();
  await nc?.drain();
  await Promise.all([nats?.stop(), s3rver?.stop()]);
});

/** Starts the connector (which polls at once) and resolves after its first poll. */
async function start(interval = "1h"): Promise<number> {
  const config = S3File.parse({
    connector: "s3",
    topic: TOPIC,
    poll: {
      bucket: BUCKET,
      prefix: "in/",
      endpoint: s3rver.url,
      accessKeyIdEnv: "S3_KEY",
      secretAccessKeyEnv: "S3_SECRET",
      pageSize: 300,
      interval,
    },
  });
  const source = createS3Source(config, ENV);
  const first = source.nextPoll();
  const connector = await startConnector({ source, eventSource: "/test/s3poll", nc, logger });
  running = { source, connector };
  return first;
}

/** Runs one poll whose checkpoint write fails, as if the process died right after the acks. */
async function crashedPoll(): Promise<void> {
  const poll = PollMode.parse({
    bucket: BUCKET,
    prefix: "in/",
    endpoint: s3rver.url,
    pageSize: 300,
  });
  const source: Source = {
    kind: "s3",
    async start(ctx) {
      const positions = {
        get: (k: string) => ctx.positions.get(k),
        put: () => Promise.reject(new Error("killed before the checkpoint")),
      };
      await expect(pollOnce(s3, poll, TOPIC, { ...ctx, positions })).rejects.toThrow("killed");
    },
    async stop() {},
  };
  const connector = await startConnector({ source, eventSource: "/test/s3poll", nc, logger });
  await connector.stop();
}

async function stop(): Promise<void> {
  await running?.connector.stop();
  running = undefined;
}

/** Events stored on the topic since the last call: `type subject` lines, sorted. */
async function newEvents(): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const last = (await jsm.streams.info(Streams.Events)).state.last_seq;
  const out: string[] = [];
  for (let seq = seqSeen + 1; seq <= last; seq++) {
    const msg = await jsm.streams.getMessage(Streams.Events, { seq }).catch(() => null);
    if (msg?.subject !== eventSubject(TOPIC)) continue;
    const ev = decodeEvent(fromMsgHdrs(msg.header));
    out.push(`${ev.type} ${ev.subject}`);
  }
  seqSeen = last;
  return out.sort();
}

async function put(keys: string[], body = "v1"): Promise<void> {
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(
      keys
        .slice(i, i + 50)
        .map((Key) =>
          s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `${body} ${Key}` })),
        ),
    );
  }
}

const key = (n: number): string => `in/obj-${String(n).padStart(4, "0")}.txt`;
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

describe("s3 poll", () => {
  test("s3 poll - 1,000 objects over 4 pages, then adds, overwrites and deletes between polls and restarts: exactly the expected events", async () => {
    await put(range(0, 1_000).map(key));
    await put(["outside/ignored.txt"]);
    // The store pages as asked, so the first poll walks 4 pages.
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "in/", MaxKeys: 300 }),
    );
    expect([page.KeyCount, page.IsTruncated]).toEqual([300, true]);
    expect(await start()).toBe(1_000);
    const first = await newEvents();
    expect(first).toEqual(range(0, 1_000).map((n) => `ObjectCreated ${key(n)}`));

    // Restart without changes: nothing again.
    await stop();
    expect(await start()).toBe(0);
    expect(await newEvents()).toEqual([]);

    // Changes while stopped: the restarted connector emits exactly them.
    await stop();
    await put(range(1_000, 1_010).map(key));
    await put(range(0, 5).map(key), "v2");
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: range(990, 997).map((n) => ({ Key: key(n) })) },
      }),
    );
    expect(await start("300ms")).toBe(22);
    expect(await newEvents()).toEqual(
      [
        ...range(1_000, 1_010).map((n) => `ObjectCreated ${key(n)}`),
        ...range(0, 5).map((n) => `ObjectCreated ${key(n)}`),
        ...range(990, 997).map((n) => `ObjectRemoved ${key(n)}`),
      ].sort(),
    );

    // Changes while it runs, picked up by the interval polls.
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: key(500) }, { Key: key(501) }] },
      }),
    );
    await put([key(2_000)]);
    let seen: string[] = [];
    const until = Date.now() + 15_000;
    while (seen.length < 3 && Date.now() < until) {
      await running?.source.nextPoll();
      seen = [...seen, ...(await newEvents())];
    }
    expect(seen.sort()).toEqual(
      [
        `ObjectCreated ${key(2_000)}`,
        `ObjectRemoved ${key(500)}`,
        `ObjectRemoved ${key(501)}`,
      ].sort(),
    );
    await running?.source.nextPoll();
    await stop();
    expect(await start()).toBe(0);
    expect(await newEvents()).toEqual([]);
    await stop();

    // A poll that dies after publishing but before its checkpoint: the next poll publishes the
    // same events again with the same ids, and JetStream stores none of them twice.
    await put(range(3_000, 3_003).map(key));
    await crashedPoll();
    const published = await newEvents();
    expect(published).toEqual(range(3_000, 3_003).map((n) => `ObjectCreated ${key(n)}`));
    expect(await start()).toBe(3);
    expect(await newEvents()).toEqual([]);
  }, 90_000);
});
