// Baseline: the least an honest worker does per call, nothing else. It drains what the minimal
// gateway accepted (BENCH_MINIMAL): call the function, store its result in Redis, post it to the
// callback URL, and only then ack. No status record, retries, metrics, logs or traces.
import { Redis } from "ioredis";
import { Agent, request } from "undici";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";

const FUNCTION_URL = process.env.FUNCTION_URL ?? "";
const CALLBACK_URL = process.env.CALLBACK_URL ?? "";
const MAX_INFLIGHT = Number(process.env.MAX_INFLIGHT ?? 256);

const nc = await connect({ servers: process.env.NATS_URL ?? "" });
const jsm = await jetstreamManager(nc);
// The same config from every replica: adding it again is a no-op.
await jsm.consumers.add("BENCH_MINIMAL", {
  durable_name: "minimal-worker",
  ack_policy: AckPolicy.Explicit,
  ack_wait: 30_000_000_000,
  max_ack_pending: 10_000,
});
const consumer = await jetstream(nc).consumers.get("BENCH_MINIMAL", "minimal-worker");
const redis = new Redis(process.env.REDIS_URL ?? "");
const agent = new Agent({ connections: MAX_INFLIGHT, keepAliveTimeout: 30_000 });

let inflight = 0;
let wake: (() => void) | undefined;

async function handle(msg: JsMsg): Promise<void> {
  const callId = msg.headers?.get("Nats-Msg-Id") || String(msg.seq);
  const res = await request(FUNCTION_URL, { method: "POST", body: msg.data, dispatcher: agent });
  const result = Buffer.from(await res.body.arrayBuffer());
  await redis.set(`bench:minimal:${callId}`, result, "EX", 3600);
  const cb = await request(CALLBACK_URL, {
    method: "POST",
    // When JetStream stored the call, for the sink's accept -> callback latency.
    headers: {
      "x-call-id": callId,
      "x-start-time": String(msg.info.timestampNanos),
      "content-type": "application/octet-stream",
    },
    body: result,
    dispatcher: agent,
  });
  await cb.body.dump();
  msg.ack();
}

process.stdout.write("target ready\n");
const messages = await consumer.consume({ max_messages: MAX_INFLIGHT });
for await (const msg of messages) {
  inflight++;
  void handle(msg)
    .catch(() => msg.nak())
    .finally(() => {
      inflight--;
      wake?.();
    });
  // Bounded like a worker's slots: the next message waits for a free one.
  while (inflight >= MAX_INFLIGHT) await new Promise<void>((resolve) => (wake = resolve));
}
