import { afterAll, beforeAll, expect, test } from "vitest";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { createLogger } from "@ferry/runtime";
import { startNats, type ServerHandle } from "@ferry/testkit";
import { connectNats, Publisher, PublishError } from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: "publisher-test", logger });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "PUB", subjects: ["pub.>"], duplicate_window: 60_000_000_000 });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const data = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The reason a publish failed: its PublishError code. */
async function failure(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PublishError);
  return (err as PublishError).code;
}

test("acks each stored message with its sequence; the message keeps its data and headers", async () => {
  const publisher = new Publisher(nc);
  const h = headers();
  h.append("Ferry-Call-Id", "c1");
  const acks = await Promise.all(
    ["a", "b", "c"].map((s, i) =>
      publisher.publish(`pub.${s}`, data(s), { timeout: 5000, ...(i === 0 ? { headers: h } : {}) }),
    ),
  );
  expect(acks.map((a) => a.stream)).toEqual(["PUB", "PUB", "PUB"]);
  expect(acks.every((a) => !a.duplicate)).toBe(true);
  const seqs = acks.map((a) => a.seq);
  expect(new Set(seqs).size).toBe(3);
  const first = await jsm.streams.getMessage("PUB", { seq: acks[0]?.seq ?? 0 });
  expect(first?.subject).toBe("pub.a");
  expect(first?.string()).toBe("a");
  expect(first?.header.get("Ferry-Call-Id")).toBe("c1");
  publisher.close();
});

test("a message id seen before is acked as a duplicate and stored once", async () => {
  const publisher = new Publisher(nc);
  const before = (await jsm.streams.info("PUB")).state.messages;
  const one = await publisher.publish("pub.dup", data("x"), { msgID: "call-1", timeout: 5000 });
  const two = await publisher.publish("pub.dup", data("x"), { msgID: "call-1", timeout: 5000 });
  expect(one.duplicate).toBe(false);
  expect(two).toEqual({ stream: "PUB", seq: one.seq, duplicate: true });
  expect((await jsm.streams.info("PUB")).state.messages).toBe(before + 1);
  publisher.close();
});

test("a subject no stream takes fails at once, not after the timeout", async () => {
  const publisher = new Publisher(nc);
  // A timeout far longer than the test's own: only the no-responders answer can end it in time.
  expect(await failure(publisher.publish("nostream.x", data("x"), { timeout: 600_000 }))).toBe(
    "no-stream",
  );
  publisher.close();
});

test("JetStream's refusal is an api error with its code", async () => {
  const publisher = new Publisher(nc);
  const h = headers();
  h.append("Nats-Expected-Stream", "OTHER");
  const err = await publisher
    .publish("pub.x", data("x"), { headers: h, timeout: 5000 })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PublishError);
  expect((err as PublishError).code).toBe("api");
  expect((err as PublishError).apiCode).toBe(10060); // expected stream does not match
  publisher.close();
});

test("no answer within the timeout fails the publish; later ones are unaffected", async () => {
  // A plain subscriber takes the subject and never answers: no stream stores it, nobody acks.
  const silent = nc.subscribe("silent.x");
  const publisher = new Publisher(nc);
  const late = publisher.publish("silent.x", data("x"), { timeout: 200 });
  const ok = publisher.publish("pub.after", data("y"), { timeout: 5000 });
  expect(await failure(late)).toBe("timeout");
  expect((await ok).stream).toBe("PUB");
  silent.unsubscribe();
  publisher.close();
});

test("closing fails what is waiting and refuses what comes after", async () => {
  const silent = nc.subscribe("silent.y");
  const publisher = new Publisher(nc);
  const waiting = publisher.publish("silent.y", data("x"), { timeout: 600_000 });
  publisher.close();
  expect(await failure(waiting)).toBe("closed");
  expect(await failure(publisher.publish("pub.x", data("x"), { timeout: 5000 }))).toBe("closed");
  silent.unsubscribe();
});

test("publishes are acked again after NATS restarts", async () => {
  const own = await connectNats({ servers: nats.url, name: "publisher-restart", logger });
  const publisher = new Publisher(own);
  expect((await publisher.publish("pub.r", data("1"), { timeout: 5000 })).stream).toBe("PUB");
  await nats.restart();
  // The reply subscription is made again on reconnect: a publish made afterwards is acked.
  let ack;
  for (let i = 0; i < 50 && !ack; i++) {
    ack = await publisher.publish("pub.r", data("2"), { timeout: 1000 }).catch(() => undefined);
  }
  expect(ack?.stream).toBe("PUB");
  publisher.close();
  await own.close();
});
