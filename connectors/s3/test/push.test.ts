import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Streams, decodeEvent, eventSubject, type CloudEvent } from "@ferry/contracts";
import { startConnector, type Connector } from "@ferry/connector-sdk";
import { connectNats, fromMsgHdrs, provisionStreams, type NatsConnection } from "@ferry/jetstream";
import { createLogger } from "@ferry/runtime";
import {
  startAll,
  startHttpSink,
  startNats,
  type HttpSink,
  type ServerHandle,
} from "@ferry/testkit";
import { S3File, createS3Source, type S3Source } from "../src/index.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const TOPIC = "s3.objects";
const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let nc: NatsConnection;
let sink: HttpSink;
let source: S3Source;
let connector: Connector;
let base: string;

beforeAll(async () => {
  [nats, sink] = await startAll([startNats(), startHttpSink()]);
  nc = await connectNats({ servers: nats.url, name: "test", logger });
  await provisionStreams(await jetstreamManager(nc));
  const config = S3File.parse({
    connector: "s3",
    topic: TOPIC,
    push: { port: 0, snsConfirm: true, minio: { tokenEnv: "MINIO_TOKEN" } },
  });
  source = createS3Source(config, { MINIO_TOKEN: "minio-secret-token" });
  connector = await startConnector({ source, eventSource: "/test/s3", nc, logger });
  base = source.url() ?? "";
});

afterAll(async () => {
  await connector?.stop();
  await nc?.drain();
  await Promise.all([nats?.stop(), sink?.close()]);
});

const fixture = (name: string): Promise<string> => readFile(join(FIXTURES, name), "utf8");

function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, { method: "POST", headers, body });
}

/** Every event stored on the topic, in order, with its payload. */
async function stored(): Promise<Array<{ event: CloudEvent; data: string }>> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(Streams.Events);
  const out: Array<{ event: CloudEvent; data: string }> = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const msg = await jsm.streams.getMessage(Streams.Events, { seq }).catch(() => null);
    if (msg?.subject !== eventSubject(TOPIC)) continue;
    out.push({ event: decodeEvent(fromMsgHdrs(msg.header)), data: msg.string() });
  }
  return out;
}

describe("s3 push", () => {
  test("s3 push - an AWS notification body gives one event per record, keys decoded, type = event name", async () => {
    const before = (await stored()).length;
    const res = await post("/aws", await fixture("aws-put.json"), {
      "content-type": "application/json",
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ events: 2 });
    const events = (await stored()).slice(before);
    expect(events.map((e) => [e.event.type, e.event.subject])).toEqual([
      ["ObjectCreated:Put", "2026/holiday snaps/beach&sun.jpg"],
      ["ObjectRemoved:Delete", "old.jpg"],
    ]);
    expect(events[0]?.event).toMatchObject({
      source: "/test/s3",
      time: "2026-01-15T10:20:30.123Z",
      datacontenttype: "application/json",
      extensions: { s3bucket: "photos", s3size: "1024", s3sequencer: "0055AED6DCD90281E5" },
    });
    expect(JSON.parse(events[0]?.data ?? "{}")).toMatchObject({ eventSource: "aws:s3" });
    // Redelivered by the sender: the same ids, dropped by JetStream.
    expect((await post("/aws", await fixture("aws-put.json"))).status).toBe(202);
    expect((await stored()).length).toBe(before + 2);
  });

  test("s3 push - an SNS notification is unwrapped; a subscription confirmation fetches SubscribeURL", async () => {
    const before = (await stored()).length;
    const res = await post("/sns", await fixture("sns-notification.json"), {
      "content-type": "text/plain; charset=UTF-8",
      "x-amz-sns-message-type": "Notification",
    });
    expect(res.status).toBe(202);
    const events = (await stored()).slice(before);
    expect(events.map((e) => [e.event.type, e.event.subject])).toEqual([
      ["ObjectCreated:CompleteMultipartUpload", "videos/clip.mp4"],
    ]);
    const confirm = (await fixture("sns-subscription-confirmation.json")).replace(
      "SUBSCRIBE_URL",
      `${sink.url}/confirm?Action=ConfirmSubscription&Token=abc`,
    );
    const conf = await post("/sns", confirm, {
      "x-amz-sns-message-type": "SubscriptionConfirmation",
    });
    expect(conf.status).toBe(200);
    expect(sink.requests.map((r) => r.url)).toContain(
      "/confirm?Action=ConfirmSubscription&Token=abc",
    );
    expect((await stored()).length).toBe(before + 1);
  });

  test("s3 push - a MinIO notification with the bearer token publishes its record", async () => {
    const before = (await stored()).length;
    const res = await post("/minio", await fixture("minio-put.json"), {
      authorization: "Bearer minio-secret-token",
      "content-type": "application/json",
    });
    expect(res.status).toBe(202);
    const events = (await stored()).slice(before);
    expect(events.map((e) => [e.event.type, e.event.subject])).toEqual([
      ["ObjectCreated:Put", "cat photo.png"],
    ]);
    expect(events[0]?.event.extensions).toMatchObject({ s3bucket: "images", s3size: "2048" });
  });

  test("s3 push - a MinIO notification with a wrong or missing token gets 401 and publishes nothing", async () => {
    const before = (await stored()).length;
    for (const headers of [{ authorization: "Bearer wrong-token" }, {}] as Array<
      Record<string, string>
    >) {
      const res = await post("/minio", await fixture("minio-put.json"), headers);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        "FERRY_ERR_UNAUTHORIZED",
      );
    }
    expect((await stored()).length).toBe(before);
  });

  test("s3 push - a body that is not a notification gets 400 and publishes nothing", async () => {
    const before = (await stored()).length;
    const res = await post("/aws", JSON.stringify({ Records: [{ eventName: "x" }] }));
    expect(res.status).toBe(400);
    expect((await post("/aws", "not json")).status).toBe(400);
    expect((await stored()).length).toBe(before);
  });
});
