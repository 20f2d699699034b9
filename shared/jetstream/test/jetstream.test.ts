import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { FunctionSpec, Streams, queueConsumerName } from "@ferry/contracts";
import { createLogger } from "@ferry/runtime";
import { startNats, type ServerHandle } from "@ferry/testkit";
import {
  connectNats,
  openFunctionRegistry,
  provisionQueueConsumer,
  provisionStreams,
  type NatsConnection,
} from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });
let nats: ServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: "test", logger });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe("jetstream", () => {
  test("provisioning - creates work-queue invoke stream and is idempotent", async () => {
    const jsm = await jetstreamManager(nc);
    await provisionStreams(jsm);
    await provisionStreams(jsm, {
      replicas: 1,
      dedupeWindowMs: 60_000,
      maxMsgBytes: 2 << 20,
      eventsMaxAgeMs: 3_600_000,
      dlqMaxAgeMs: 3_600_000,
    });
    const info = await jsm.streams.info(Streams.Invoke);
    expect(info.config.retention).toBe("workqueue");
    expect(info.config.storage).toBe("file");
    expect(info.config.max_msg_size).toBe(2 << 20);
    await provisionQueueConsumer(jsm, "default");
    await provisionQueueConsumer(jsm, "default", {
      ackWaitMs: 5000,
      maxDeliver: 3,
      maxAckPending: 100,
    });
    const consumer = await jsm.consumers.info(Streams.Invoke, queueConsumerName("default"));
    expect(consumer.config.max_deliver).toBe(3);
  });

  test("registry - a put in one connection is seen by another's watcher", async () => {
    const a = await openFunctionRegistry(nc, { logger });
    const nc2 = await connectNats({ servers: nats.url, name: "test2", logger });
    const b = await openFunctionRegistry(nc2, { logger });
    const spec = FunctionSpec.parse({
      name: "echo",
      queue: "default",
      url: "http://127.0.0.1:1/",
      env: {},
      timeout: 1000,
    });
    const seen = new Promise<void>((resolve) => b.onChange((name) => name === "echo" && resolve()));
    await a.put(spec);
    await seen;
    expect(b.get("echo")?.url).toBe("http://127.0.0.1:1/");
    const c = await openFunctionRegistry(nc2, { logger });
    expect(c.list().map((f) => f.name)).toEqual(["echo"]);
    const gone = new Promise<void>((resolve) =>
      b.onChange((name, s) => name === "echo" && !s && resolve()),
    );
    await a.remove("echo");
    await gone;
    expect(b.get("echo")).toBeUndefined();
    await Promise.all([a.close(), b.close(), c.close()]);
    await nc2.close();
  });
});
