import type { FastifyInstance } from "fastify";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { z } from "zod";
import { FerryError, FunctionName, TopicPattern } from "@ferry/contracts";
import type { FunctionRegistry } from "@ferry/jetstream";
import { replayEvents } from "@ferry/router";
import { parseDuration } from "@ferry/runtime";

/** Body of `POST /system/events/replay`. */
export const ReplayBody = z.strictObject({
  /** Topic or pattern (`*`, `>`) of the events to replay. */
  topic: TopicPattern,
  /** Start: an RFC 3339 time, or a duration back from now such as `10m`. */
  since: z
    .string()
    .refine((s) => sinceOf(s, 0) !== undefined, "use an RFC 3339 time or a duration like 10m"),
  /** Functions to invoke; default: each event's subscribers. */
  functions: z.array(FunctionName).min(1).optional(),
  /** Most events replayed by this request. */
  limit: z.number().int().positive().max(100_000).default(10_000),
});

/** What the replay route needs. */
export interface SystemEventsOptions {
  js: JetStreamClient;
  registry: FunctionRegistry;
  publishTimeoutMs: number;
}

/** `POST /system/events/replay`: re-routes stored events; answers once every invocation is queued. */
export function systemEventsRoutes(app: FastifyInstance, opts: SystemEventsOptions): void {
  app.post("/system/events/replay", async (req, reply) => {
    const body = ReplayBody.safeParse(parseJson(req.body));
    if (!body.success) {
      const issue = body.error.issues[0];
      throw new FerryError("BadRequest", `${issue?.path.join(".") || "body"}: ${issue?.message}`);
    }
    const since = new Date(sinceOf(body.data.since, Date.now()) ?? 0);
    const result = await replayEvents(
      opts.js,
      opts.registry,
      { topic: body.data.topic, since, functions: body.data.functions, limit: body.data.limit },
      { logger: req.log as unknown as Logger, publishTimeoutMs: opts.publishTimeoutMs },
    );
    return reply.code(200).send({ ...result, since: since.toISOString() });
  });
}

function sinceOf(value: string, now: number): number | undefined {
  const ms = parseDuration(value);
  if (ms !== undefined) return now - ms;
  const t = Date.parse(value);
  return /^\d{4}-\d\d-\d\dT/.test(value) && !Number.isNaN(t) ? t : undefined;
}

function parseJson(body: unknown): unknown {
  try {
    return JSON.parse(Buffer.isBuffer(body) ? body.toString("utf8") : "");
  } catch {
    throw new FerryError("BadRequest", "the body must be JSON");
  }
}
