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

  test("registry - creates of one name from two connections at once: one wins; a writer reads its own write at once", async () => {
    const nc2 = await connectNats({ servers: nats.url, name: "test3", logger });
    const [a, b] = await Promise.all([
      openFunctionRegistry(nc, { logger }),
      openFunctionRegistry(nc2, { logger }),
    ]);
    const spec = (url: string) => ({ name: "once", url });
    const changes: string[] = [];
    a.onChange((name, s) => changes.push(`${name}:${s?.url ?? "gone"}`));
    const results = await Promise.all([
      a.create(spec("http://127.0.0.1:1/")),
      b.create(spec("http://127.0.0.1:2/")),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] ? "http://127.0.0.1:1/" : "http://127.0.0.1:2/";
    // Once the function exists, a create fails however fresh the caller's view.
    expect(await a.create(spec("http://127.0.0.1:3/"))).toBe(false);
    // The winner's registry has it as soon as its create returned; a put is read back at once.
    const writer = results[0] ? a : b;
    expect(writer.get("once")?.url).toBe(winner);
    await a.put(spec("http://127.0.0.1:4/"));
    expect(a.get("once")?.url).toBe("http://127.0.0.1:4/");
    // The watcher's copies of those writes change nothing more: each change was seen once.
    await new Promise((r) => setTimeout(r, 200));
    expect(changes).toEqual([`once:${winner}`, "once:http://127.0.0.1:4/"]);
    await a.remove("once");
    await new Promise((r) => setTimeout(r, 200));
    // A removed name can be created again.
    expect(await b.create(spec("http://127.0.0.1:5/"))).toBe(true);
    await Promise.all([a.close(), b.close()]);
    await nc2.close();
  });
});
