// Baseline: Fastify plus one awaited JetStream publish per request, nothing else.
import { randomUUID } from "node:crypto";
import Fastify from "fastify";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";

const nc = await connect({ servers: process.env.NATS_URL ?? "" });
const jsm = await jetstreamManager(nc);
await jsm.streams.add({
  name: "BENCH_MINIMAL",
  subjects: ["bench.minimal.>"],
  retention: RetentionPolicy.Workqueue,
  storage: StorageType.File,
});
const js = jetstream(nc);
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
app.post("/", async (req, reply) => {
  const id = randomUUID();
  await js.publish("bench.minimal.fn", req.body as Buffer, { msgID: id });
  return reply.code(202).header("x-call-id", id).send({ callId: id });
});
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
process.stdout.write("target ready\n");
