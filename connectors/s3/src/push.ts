import { timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { FerryError, errorBody } from "@ferry/contracts";
import type { SourceContext } from "@ferry/connector-sdk";
import type { PushMode } from "./config.js";
import { S3Notification, SnsEnvelope, notificationEvent, type S3Record } from "./notification.js";

/** Routes: `POST /aws` (a notification body), `POST /sns` (an SNS delivery), `POST /minio`. */
export function buildPushServer(
  push: PushMode,
  topic: string,
  minioToken: string | undefined,
  ctx: SourceContext,
): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: true, bodyLimit: push.maxBodyBytes });
  app.removeAllContentTypeParsers();
  // SNS posts JSON as text/plain; every route parses the raw body itself.
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof FerryError) return reply.code(err.status).send(err.toBody());
    if (err.statusCode === 413)
      return reply.code(413).send(errorBody("PayloadTooLarge", "notification body too large"));
    if (err.statusCode && err.statusCode < 500)
      return reply.code(err.statusCode).send(errorBody("BadRequest", err.message));
    ctx.logger.error({ err }, "notification request failed");
    return reply.code(500).send(errorBody("Internal", "internal error"));
  });
  const publish = (records: S3Record[], reply: FastifyReply): Promise<unknown> =>
    publishRecords(records, topic, ctx, reply);
  app.post("/aws", (req, reply) => publish(recordsOf(jsonOf(req)), reply));
  app.post("/sns", (req, reply) => sns(req, reply, push, ctx, publish));
  if (minioToken !== undefined) {
    app.post("/minio", (req, reply) => {
      if (!bearerMatches(req.headers.authorization, minioToken)) {
        ctx.logger.warn("minio notification rejected: bad token");
        throw new FerryError("Unauthorized", "missing or wrong bearer token");
      }
      return publish(recordsOf(jsonOf(req)), reply);
    });
  }
  app.get("/healthz", (_req, reply) => reply.send("ok"));
  return app;
}

function jsonOf(req: FastifyRequest): unknown {
  const body = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
  try {
    return JSON.parse(body);
  } catch {
    throw new FerryError("BadRequest", "body is not JSON");
  }
}

function recordsOf(body: unknown): S3Record[] {
  const parsed = S3Notification.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FerryError(
      "BadRequest",
      `not an S3 notification: ${issue?.path.join(".")}: ${issue?.message}`,
    );
  }
  return parsed.data.Records;
}

async function sns(
  req: FastifyRequest,
  reply: FastifyReply,
  push: PushMode,
  ctx: SourceContext,
  publish: (records: S3Record[], reply: FastifyReply) => Promise<unknown>,
): Promise<unknown> {
  const parsed = SnsEnvelope.safeParse(jsonOf(req));
  if (!parsed.success) throw new FerryError("BadRequest", "not an SNS message");
  const msg = parsed.data;
  if (push.snsTopicArns.length > 0 && !push.snsTopicArns.includes(msg.TopicArn)) {
    throw new FerryError("Forbidden", `topic ${msg.TopicArn} is not accepted`);
  }
  if (msg.Type === "Notification") return publish(recordsOf(JSON.parse(msg.Message)), reply);
  const log = ctx.logger.child({ topicArn: msg.TopicArn, type: msg.Type });
  if (msg.Type === "SubscriptionConfirmation" && push.snsConfirm && msg.SubscribeURL) {
    const res = await fetch(msg.SubscribeURL);
    if (!res.ok) throw new FerryError("Unavailable", `SubscribeURL answered ${res.status}`);
    log.info("SNS subscription confirmed");
  } else {
    log.warn({ subscribeUrl: msg.SubscribeURL }, "SNS message not acted on (snsConfirm is off)");
  }
  return reply.code(200).send({ status: "ok" });
}

async function publishRecords(
  records: S3Record[],
  topic: string,
  ctx: SourceContext,
  reply: FastifyReply,
): Promise<unknown> {
  const drafts = records.map((r) => notificationEvent(topic, r));
  try {
    // Any failure answers 503, and the sender retries the whole body; ids dedupe the repeats.
    await Promise.all(drafts.map((d) => ctx.publish(d, { retry: false })));
  } catch (err) {
    ctx.logger.warn({ err }, "notification not published");
    reply.header("retry-after", "1");
    throw new FerryError("Unavailable", "events are unavailable, retry later", { cause: err });
  }
  ctx.logger.info({ events: drafts.map((d) => d.id) }, "notification accepted");
  return reply.code(202).send({ status: "accepted", events: drafts.length });
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, "") ?? "");
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
