import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import { z } from "zod";
import {
  CALL_ID_PATTERN,
  FerryError,
  NAME_PATTERN,
  callKey,
  timelineKey,
  type TimelineEntry,
} from "@ferry/contracts";
import type { DlqStore } from "../dlq/store.js";
import { callIdParam, jsonBodyOf, parseWith } from "./request-parts.js";

/** What the dead-letter routes need. */
export interface DlqRouteOptions {
  dlq: DlqStore;
  /** Call status, for the dead letter's sequence (saves a scan); optional. */
  redis?: Redis;
}

const ListQuery = z.object({
  /** Only this function's dead letters. */
  function: z.string().regex(NAME_PATTERN).optional(),
  /** Cursor: the `next` of the previous page. */
  after: z.coerce.number().int().min(0).optional(),
  /** Page size. */
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const RedriveBody = z.union([
  z.strictObject({ callIds: z.array(z.string().regex(CALL_ID_PATTERN)).min(1).max(1000) }),
  z.strictObject({ function: z.string().regex(NAME_PATTERN) }),
]);

type ById = FastifyRequest<{ Params: { callId: string } }>;

/** `/system/dlq`: list, show, redrive (one, many, all of a function) and delete dead letters. */
export function systemDlqRoutes(app: FastifyInstance, opts: DlqRouteOptions): void {
  const { dlq } = opts;
  const hint = async (callId: string): Promise<number | undefined> => {
    const seq = await opts.redis?.hget(callKey(callId), "dlqSeq").catch(() => null);
    return seq ? Number(seq) : undefined;
  };
  // The dashboard's timeline of the call; best effort.
  const noteRedrive = async (callId: string, redrives: number): Promise<void> => {
    const entry: TimelineEntry = { t: Date.now(), e: "redriven", n: redrives };
    await opts.redis?.rpush(timelineKey(callId), JSON.stringify(entry)).catch(() => 0);
  };
  const notFound = (callId: string): FerryError =>
    new FerryError("CallNotFound", `no dead letter for call "${callId}"`);

  app.get("/system/dlq", async (req) => {
    const q = parseWith(ListQuery, req.query, "query");
    const items = await dlq.list({
      limit: q.limit,
      ...(q.function ? { fn: q.function } : {}),
      ...(q.after !== undefined ? { after: q.after } : {}),
    });
    const last = items.at(-1);
    return { items, next: items.length === q.limit && last ? last.seq : null };
  });
  app.get("/system/dlq/:callId", async (req: ById) => {
    const callId = callIdParam(req.params.callId);
    const hit = await dlq.find(callId, await hint(callId));
    if (!hit) throw notFound(callId);
    return { ...hit.letter, body: Buffer.from(hit.body).toString("base64") };
  });
  app.post("/system/dlq/:callId/redrive", async (req: ById, reply) => {
    const callId = callIdParam(req.params.callId);
    const letter = await dlq.redrive(callId, await hint(callId));
    if (!letter) throw notFound(callId);
    await noteRedrive(callId, letter.redrives);
    return reply.code(202).send({ callId, redrives: letter.redrives, status: "queued" });
  });
  app.post("/system/dlq/redrive", async (req, reply) => {
    const body = parseWith(RedriveBody, jsonBodyOf(req.body));
    const redriven: string[] = [];
    const missing: string[] = [];
    if ("callIds" in body) {
      for (const id of body.callIds) {
        const letter = await dlq.redrive(id, await hint(id));
        (letter ? redriven : missing).push(id);
        if (letter) await noteRedrive(id, letter.redrives);
      }
    } else {
      for (let page = await dlq.list({ fn: body.function, limit: 100 }); page.length > 0;) {
        for (const letter of page) {
          const done = await dlq.redriveSeq(letter.seq);
          if (!done) continue;
          redriven.push(letter.callId);
          await noteRedrive(letter.callId, done.redrives);
        }
        page = await dlq.list({ fn: body.function, after: page.at(-1)?.seq ?? 0, limit: 100 });
      }
    }
    return reply.code(202).send({ redriven, notFound: missing });
  });
  app.delete("/system/dlq/:callId", async (req: ById, reply) => {
    const callId = callIdParam(req.params.callId);
    if (!(await dlq.remove(callId, await hint(callId)))) throw notFound(callId);
    return reply.code(204).send();
  });
}
