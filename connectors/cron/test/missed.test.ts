import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Streams, decodeEvent, eventSubject } from "@ferry/contracts";
import { POSITIONS_BUCKET, startConnector } from "@ferry/connector-sdk";
import { connectNats, fromMsgHdrs, provisionStreams, type NatsConnection } from "@ferry/jetstream";
import { createLogger } from "@ferry/runtime";
import { startNats, type ServerHandle } from "@ferry/testkit";
import { CronFile, createCronSource, positionKey } from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });
const SOURCE = "/test/missed";
let nats: ServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: "test", logger });
  await provisionStreams(await jetstreamManager(nc));
});

afterAll(async () => {
  await nc?.drain();
  await nats?.stop();
});

/** Tick times (ms) of the events stored on `topic`. */
async function storedTicks(topic: string): Promise<number[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(Streams.Events, { subjects_filter: eventSubject(topic) });
  const count = info.state.subjects?.[eventSubject(topic)] ?? 0;
  const ticks: number[] = [];
  for (let seq = info.state.first_seq; ticks.length < count && seq <= info.state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(Streams.Events, { seq }).catch(() => null);
    if (msg?.subject === eventSubject(topic)) {
      ticks.push(Date.parse(decodeEvent(fromMsgHdrs(msg.header)).time ?? ""));
    }
  }
  return ticks;
}

describe("cron missed ticks", () => {
  test.each([
    ["skip", 0],
    ["last", 1],
    ["all", 3],
  ] as const)(
    "missed ticks - policy %s fires %i of the ticks missed while no replica ran",
    async (missed, expected) => {
      const name = `m-${missed}`;
      const kv = await new Kvm(nc).create(POSITIONS_BUCKET, { history: 1 });
      const lastFired = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
      await kv.put(positionKey(SOURCE, name), String(lastFired));
      const config = CronFile.parse({
        connector: "cron",
        source: SOURCE,
        schedules: { [name]: { every: "1m", topic: `missed.${missed}`, missed, maxCatchUp: 3 } },
      });
      const started = Date.now();
      const connector = await startConnector({
        source: createCronSource(config),
        eventSource: SOURCE,
        nc,
        logger,
      });
      await new Promise((r) => setTimeout(r, 500));
      await connector.stop();
      const stored = await storedTicks(`missed.${missed}`);
      const ticks = stored.filter((t) => t < started);
      expect(ticks).toHaveLength(expected);
      // The caught-up ticks are the most recent ones, and the position moved to the last tick
      // fired (a minute that began during the wait above fired live, and counts).
      if (expected > 0) {
        expect(Math.max(...ticks)).toBe(Math.floor(started / 60_000) * 60_000);
        expect(Number((await kv.get(positionKey(SOURCE, name)))?.string())).toBe(
          Math.max(...stored),
        );
      }
    },
  );
});
