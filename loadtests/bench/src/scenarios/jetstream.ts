import { connect } from "@nats-io/transport-node";
import {
  jetstream,
  jetstreamManager,
  AckPolicy,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import type { Row } from "../report.js";

/** Raw JetStream from Node: awaited and pipelined publishes of 1 KiB, then a pull consume. */
export async function rawJetStream(natsUrl: string, seconds: number): Promise<Row[]> {
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: "BENCH_RAW",
    subjects: ["bench.raw.>"],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
  });
  const js = jetstream(nc);
  const payload = new Uint8Array(1024).fill(120);

  let until = Date.now() + seconds * 1000;
  let awaited = 0;
  while (Date.now() < until) {
    await js.publish("bench.raw.a", payload);
    awaited++;
  }

  until = Date.now() + seconds * 1000;
  let pipelined = 0;
  const window = new Set<Promise<unknown>>();
  while (Date.now() < until) {
    const p: Promise<unknown> = js.publish("bench.raw.b", payload).then(() => window.delete(p));
    window.add(p);
    pipelined++;
    if (window.size >= 256) await Promise.race(window);
  }
  await Promise.all(window);

  await jsm.consumers.add("BENCH_RAW", { durable_name: "bench", ack_policy: AckPolicy.Explicit });
  const consumer = await js.consumers.get("BENCH_RAW", "bench");
  const total = awaited + pipelined;
  const started = Date.now();
  const messages = await consumer.consume({ max_messages: 1000 });
  let consumed = 0;
  for await (const m of messages) {
    m.ack();
    if (++consumed >= total) break;
  }
  const consumeSec = (Date.now() - started) / 1000;
  await nc.drain();
  return [
    { group: "baseline", name: "JetStream publish, awaited (1 KiB)", rps: awaited / seconds },
    {
      group: "baseline",
      name: "JetStream publish, pipelined x256 (1 KiB)",
      rps: pipelined / seconds,
    },
    { group: "baseline", name: "JetStream pull consume + ack", rps: consumed / consumeSec },
  ];
}
