// Baseline: a bare Fastify POST endpoint that answers 202 with a small JSON body.
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
app.post("/", async (_req, reply) => reply.code(202).send({ status: "queued" }));
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
process.stdout.write("target ready\n");
