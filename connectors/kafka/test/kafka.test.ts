import { jetstreamManager } from "@nats-io/jetstream";
import { Kafka, logLevel, type Admin, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Streams, decodeEvent, eventSubject, type CloudEvent } from "@ferry/contracts";
import { startConnector, type Connector } from "@ferry/connector-sdk";
import { connectNats, fromMsgHdrs, provisionStreams, type NatsConnection } from "@ferry/jetstream";
import { createLogger } from "@ferry/runtime";
import {
  startAll,
  startKafkaMock,
  startNats,
  type KafkaMock,
  type ServerHandle,
} from "@ferry/testkit";
import { KafkaFile, createKafkaSource } from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });
const GROUP = "ferry-unit";
let nats: ServerHandle;
let mock: KafkaMock;
let nc: NatsConnection;
let producer: Producer;
let admin: Admin;
let connector: Connector | undefined;

beforeAll(async () => {
  [nats, mock] = await startAll([startNats(), startKafkaMock()]);
  nc = await connectNats({ servers: nats.url, name: "test", logger });
  await provisionStreams(await jetstreamManager(nc));
  const kafka = new Kafka({ brokers: [mock.bootstrap], logLevel: logLevel.NOTHING });
  producer = kafka.producer({ allowAutoTopicCreation: true });
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
});

afterAll(async () => {
  await connector?.stop();
  await Promise.all([producer?.disconnect(), admin?.disconnect()]);
  await nc?.drain();
  await Promise.all([nats?.stop(), mock?.stop()]);
});

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stored(topic: string): Promise<Array<{ event: CloudEvent; data: string }>> {
  const jsm = await jetstreamManager(nc);
  const last = (await jsm.streams.info(Streams.Events)).state.last_seq;
  const out: Array<{ event: CloudEvent; data: string }> = [];
  for (let seq = 1; seq <= last; seq++) {
    const msg = await jsm.streams.getMessage(Streams.Events, { seq }).catch(() => null);
    if (msg?.subject === eventSubject(topic))
      out.push({ event: decodeEvent(fromMsgHdrs(msg.header)), data: msg.string() });
  }
  return out;
}

/** Sum of the group's committed offsets on a topic. */
async function committed(topic: string): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId: GROUP, topics: [topic] });
  return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

describe("kafka connector", () => {
  test("kafka - a pattern subscription publishes records with Kafka extensions; an oversized record becomes an error event", async () => {
    // One partition by key, so the oversized record sits between two good ones.
    const send = (messages: Parameters<Producer["send"]>[0]["messages"]): Promise<boolean> =>
      producer.send({ topic: "audit.login", messages }).then(() => true);
    await until(() =>
      send([
        {
          key: Buffer.from([0xff, 0x00, 0x01]),
          value: "first",
          headers: { "x-request-id": "r-1", "content-type": "text/plain" },
        },
        { key: Buffer.from([0xff, 0x00, 0x01]), value: "x".repeat(2_000) },
        { key: Buffer.from([0xff, 0x00, 0x01]), value: "third" },
      ]),
    );
    const config = KafkaFile.parse({
      connector: "kafka",
      brokers: [mock.bootstrap],
      groupId: GROUP,
      topics: ["/^audit\\..*/"],
      fromBeginning: true,
      topic: "audit.events",
      errorTopic: "audit.errors",
      maxRecordBytes: 1_024,
      sessionTimeout: "6s",
    });
    connector = await startConnector({
      source: createKafkaSource(config, {}),
      eventSource: "/test/kafka",
      nc,
      logger,
    });
    await until(async () => (await committed("audit.login")) === 3);
    const events = await stored("audit.events");
    expect(events.map((e) => e.data)).toEqual(["first", "third"]);
    const first = events[0]!.event;
    expect(first).toMatchObject({
      type: "dev.ferry.kafka.record",
      subject: "audit.login",
      datacontenttype: "text/plain",
    });
    expect(first.id).toMatch(/^kafka:audit\.login:\d+:0$/);
    expect(first.extensions).toMatchObject({
      kafkatopic: "audit.login",
      kafkaoffset: "0",
      kafkakey: Buffer.from([0xff, 0x00, 0x01]).toString("base64"),
      kafkakeyencoding: "base64",
      kafkaxrequestid: "r-1",
    });
    const errors = await stored("audit.errors");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.event.type).toBe("dev.ferry.kafka.record.oversized");
    expect(JSON.parse(errors[0]?.data ?? "{}")).toMatchObject({
      topic: "audit.login",
      offset: "1",
      limit: 1_024,
    });
  }, 60_000);

  test("kafka - with JetStream down no offset is committed; after it returns every record is published", async () => {
    const before = await committed("audit.login");
    await nats.halt();
    const values = Array.from({ length: 200 }, (_, i) => ({
      key: `k${i}`,
      value: `while-down-${i}`,
    }));
    await producer.send({ topic: "audit.login", messages: values });
    await new Promise((r) => setTimeout(r, 3_000));
    // Nothing stored, so nothing committed: the partitions wait.
    expect(await committed("audit.login")).toBe(before);
    await nats.restart();
    await until(async () => (await committed("audit.login")) === before + 200, 45_000);
    const data = new Set((await stored("audit.events")).map((e) => e.data));
    expect(values.every((v) => data.has(v.value))).toBe(true);
  }, 90_000);
});
