import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { Redis } from "ioredis";
import { z } from "zod";
import {
  CALL_ID_PATTERN,
  CONNECTORS_STATUS_BUCKET,
  CallStatus,
  FerryError,
  NAME_PATTERN,
  RECENT_CALLS_KEY,
  STATS_BUCKET_MS,
  Streams,
  Subjects,
  callKey,
  latencyBucketMs,
  queueConsumerName,
  queueFilterSubject,
  resultKey,
  statsKey,
  timelineKey,
  type ConnectorHeartbeat,
  type TimelineEntry,
} from "@ferry/contracts";
import type { FunctionRegistry, NatsConnection } from "@ferry/jetstream";
import { toStatus } from "./status.js";
import { callIdParam, jsonBodyOf, parseWith } from "./request-parts.js";

/** What the dashboard's routes need. */
export interface DashboardRouteOptions {
  registry: FunctionRegistry;
  jsm: JetStreamManager;
  nc?: NatsConnection | undefined;
  /** Call status; without it the calls and stats routes answer 503. */
  redis?: Redis | undefined;
}

/** Most bytes of a result the call page shows. */
const RESULT_PREVIEW_BYTES = 16 * 1024;

const CallsQuery = z.object({
  /** Only calls of this function. */
  function: z.string().regex(NAME_PATTERN).optional(),
  /** Only calls in this status. */
  status: z.enum(Object.values(CallStatus) as [string, ...string[]]).optional(),
  /** A call id, or part of one. */
  q: z.string().max(64).optional(),
  /** Most calls answered. */
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const StatsQuery = z.object({
  /** Minutes back from now. */
  minutes: z.coerce.number().int().min(1).max(15).default(15),
});

const ScaleBody = z.strictObject({
  /** Replicas to run at least (the function's minReplicas). */
  replicas: z.number().int().min(0).max(1000),
});

/** Per-queue figures of the overview. */
export interface QueueView {
  queue: string;
  functions: string[];
  /** Calls waiting to be delivered. */
  waiting: number;
  /** Calls delivered and not yet acked. */
  running: number;
  /** Messages delivered more than once and not yet acked. */
  redelivered: number;
  /** Age of the oldest call stored for the queue (waiting, running or waiting for a retry), seconds. */
  oldestAgeSeconds: number | null;
  /** Dead letters of the queue. */
  dlq: number;
  consumer: string | null;
}

/** Queue figures: JetStream consumer info, oldest stored message and DLQ count per queue. */
export async function queueViews(
  registry: FunctionRegistry,
  jsm: JetStreamManager,
  nc?: NatsConnection,
): Promise<QueueView[]> {
  const queues = new Map<string, string[]>();
  for (const spec of registry.list()) {
    queues.set(spec.queue, [...(queues.get(spec.queue) ?? []), spec.name]);
  }
  const dlq = await dlqPerQueue(jsm);
  for (const q of dlq.keys()) if (!queues.has(q)) queues.set(q, []);
  const now = Date.now();
  return Promise.all(
    [...queues]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(async ([queue, functions]) => {
        const [info, oldest] = await Promise.all([
          jsm.consumers.info(Streams.Invoke, queueConsumerName(queue)).catch(() => undefined),
          nc ? oldestStored(nc, queue).catch(() => undefined) : undefined,
        ]);
        // No consumer yet (no worker has served the queue): every stored call is waiting.
        const stored = info ? 0 : await storedCalls(jsm, queue).catch(() => 0);
        return {
          queue,
          functions: functions.sort(),
          waiting: info ? info.num_pending : stored,
          running: info?.num_ack_pending ?? 0,
          redelivered: info?.num_redelivered ?? 0,
          oldestAgeSeconds: oldest === undefined ? null : Math.max(0, (now - oldest) / 1000),
          dlq: dlq.get(queue) ?? 0,
          consumer: info ? queueConsumerName(queue) : null,
        };
      }),
  );
}

async function storedCalls(jsm: JetStreamManager, queue: string): Promise<number> {
  const info = await jsm.streams.info(Streams.Invoke, {
    subjects_filter: queueFilterSubject(queue),
  });
  return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
}

async function dlqPerQueue(jsm: JetStreamManager): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const info = await jsm.streams
    .info(Streams.Dlq, { subjects_filter: `${Subjects.Dlq}.>` })
    .catch(() => undefined);
  for (const [subject, n] of Object.entries(info?.state.subjects ?? {})) {
    const queue = subject.split(".").at(-2) ?? "";
    out.set(queue, (out.get(queue) ?? 0) + n);
  }
  return out;
}

/** Storage time (ms) of the first message under the queue's subjects; undefined when none. */
async function oldestStored(nc: NatsConnection, queue: string): Promise<number | undefined> {
  const req = { seq: 1, next_by_subj: queueFilterSubject(queue) };
  const res = await nc.request(`$JS.API.STREAM.MSG.GET.${Streams.Invoke}`, JSON.stringify(req), {
    timeout: 2_000,
  });
  const body = res.json<{ message?: { time: string } }>();
  return body.message ? Date.parse(body.message.time) : undefined;
}

/** One bucket of the overview's charts. */
export interface StatsBucket {
  /** Start of the bucket, ms. */
  t: number;
  accepted: number;
  /** Final calls by status. */
  done: Record<string, number>;
  /** End-to-end latency percentiles, ms; null without calls. */
  e2e: { p50: number; p90: number; p99: number } | null;
}

/** Per-function totals over the window. */
export interface FunctionStats {
  done: Record<string, number>;
  /** Duration percentiles of final attempts, ms. */
  duration: { p50: number; p90: number; p99: number } | null;
}

/** The charts' series and per-function totals of the last `minutes`. */
export async function readStats(
  redis: Redis,
  minutes: number,
  now = Date.now(),
): Promise<{ bucketMs: number; buckets: StatsBucket[]; functions: Record<string, FunctionStats> }> {
  const count = Math.round((minutes * 60_000) / STATS_BUCKET_MS);
  const last = Math.floor(now / STATS_BUCKET_MS) * STATS_BUCKET_MS;
  const starts = Array.from({ length: count }, (_, i) => last - (count - 1 - i) * STATS_BUCKET_MS);
  const pipe = redis.pipeline();
  for (const t of starts) pipe.hgetall(statsKey(t));
  const results = (await pipe.exec()) ?? [];
  const functions: Record<string, FunctionStats> = {};
  const durations = new Map<string, Map<number, number>>();
  const fnOf = (name: string): FunctionStats => (functions[name] ??= { done: {}, duration: null });
  const buckets = starts.map((t, i) => {
    const hash = (results[i]?.[1] ?? {}) as Record<string, string>;
    const bucket: StatsBucket = { t, accepted: 0, done: {}, e2e: null };
    const e2e = new Map<number, number>();
    for (const [field, raw] of Object.entries(hash)) {
      const n = Number(raw);
      const parts = field.split(":");
      if (field === "accepted") {
        bucket.accepted += n;
      } else if (parts[0] === "done" && parts[1]) {
        if (parts.length === 2) bucket.done[parts[1]] = (bucket.done[parts[1]] ?? 0) + n;
        else {
          const f = fnOf(parts[2] ?? "");
          f.done[parts[1]] = (f.done[parts[1]] ?? 0) + n;
        }
      } else if (parts[0] === "e2e") {
        add(e2e, Number(parts[1]), n);
      } else if (parts[0] === "dur" && parts.length === 3) {
        const fn = parts[1] ?? "";
        fnOf(fn);
        const h = durations.get(fn) ?? new Map<number, number>();
        durations.set(fn, h);
        add(h, Number(parts[2]), n);
      }
    }
    bucket.e2e = percentiles(e2e);
    return bucket;
  });
  for (const [fn, h] of durations) fnOf(fn).duration = percentiles(h);
  return { bucketMs: STATS_BUCKET_MS, buckets, functions };
}

function add(h: Map<number, number>, bucket: number, n: number): void {
  h.set(bucket, (h.get(bucket) ?? 0) + n);
}

function percentiles(h: Map<number, number>): { p50: number; p90: number; p99: number } | null {
  const sorted = [...h].sort(([a], [b]) => a - b);
  const total = sorted.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  const at = (q: number): number => {
    let seen = 0;
    for (const [bucket, n] of sorted) {
      seen += n;
      if (seen >= q * total) return latencyBucketMs(bucket);
    }
    return latencyBucketMs(sorted.at(-1)?.[0] ?? 0);
  };
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/** Connectors that sent a heartbeat within the last minute. */
export async function readConnectors(nc: NatsConnection): Promise<ConnectorHeartbeat[]> {
  const kv = await new Kvm(nc).open(CONNECTORS_STATUS_BUCKET).catch(() => undefined);
  if (!kv) return [];
  const out: ConnectorHeartbeat[] = [];
  const keys = await kv.keys().catch(() => undefined);
  if (!keys) return [];
  const names: string[] = [];
  for await (const key of keys) names.push(key);
  for (const key of names) {
    const entry = await kv.get(key).catch(() => null);
    if (!entry || entry.operation !== "PUT") continue;
    try {
      out.push(entry.json<ConnectorHeartbeat>());
    } catch {
      // Not a heartbeat: skipped.
    }
  }
  return out.sort(
    (a, b) => a.kind.localeCompare(b.kind) || a.eventSource.localeCompare(b.eventSource),
  );
}

type ById = FastifyRequest<{ Params: { callId: string } }>;

/**
 * The dashboard's API: `/system/calls[/:callId]`, `/system/stats`, `/system/overview`,
 * `/system/connectors`, `/system/scale-function/:name`, `/system/functions/:name/invoke`,
 * `/system/calls/:callId/cancel` and the live stream `/system/stream`.
 */
export function systemDashboardRoutes(app: FastifyInstance, opts: DashboardRouteOptions): void {
  // Open live streams: ended before the server closes (it waits for open connections).
  const streams = new Set<() => void>();
  app.addHook("preClose", async () => {
    for (const end of streams) end();
  });
  const redisOf = (): Redis => {
    if (!opts.redis) throw new FerryError("Unavailable", "call status is not configured (Redis)");
    return opts.redis;
  };

  app.get("/system/calls", async (req) => {
    const q = parseWith(CallsQuery, req.query, "query");
    const redis = redisOf();
    const needle = q.q?.trim().toLowerCase() ?? "";
    let ids: string[];
    if (needle && CALL_ID_PATTERN.test(needle) && (await redis.exists(callKey(needle)))) {
      ids = [needle];
    } else {
      // Newest first; a search or filter scans the capped set in pages.
      ids = [];
      const filtered = Boolean(needle || q.function || q.status);
      const page = filtered ? 1000 : q.limit;
      for (let start = 0; ids.length < q.limit; start += page) {
        const chunk = await redis.zrevrange(RECENT_CALLS_KEY, start, start + page - 1);
        if (chunk.length === 0) break;
        const matching = needle ? chunk.filter((id) => id.toLowerCase().includes(needle)) : chunk;
        if (!q.function && !q.status) ids.push(...matching);
        else {
          const records = await readMany(redis, matching, ["function", "status"]);
          matching.forEach((id, i) => {
            const [fn, status] = records[i] ?? [];
            if (q.function && fn !== q.function) return;
            if (q.status && status !== q.status) return;
            ids.push(id);
          });
        }
        if (chunk.length < page) break;
      }
      ids = ids.slice(0, q.limit);
    }
    const pipe = redis.pipeline();
    for (const id of ids) pipe.hgetall(callKey(id));
    const rows = (await pipe.exec()) ?? [];
    const items = rows
      .map(([, r]) => r as Record<string, string>)
      .filter((r) => r?.status)
      .map((r) => {
        const s = toStatus(r);
        return {
          callId: s.callId,
          function: s.function,
          status: s.status,
          attempts: s.attempts,
          enqueuedAt: s.enqueuedAt,
          finishedAt: s.finishedAt,
          durationMs: s.durationMs,
          statusCode: s.statusCode,
          callbackState: (s.callback as { state: string }).state,
        };
      });
    return { items, total: await redis.zcard(RECENT_CALLS_KEY) };
  });

  app.get("/system/calls/:callId", async (req: ById) => {
    const callId = callIdParam(req.params.callId);
    const redis = redisOf();
    const [record, timeline, result] = await Promise.all([
      redis.hgetall(callKey(callId)),
      redis.lrange(timelineKey(callId), 0, -1),
      redis.getrangeBuffer(resultKey(callId), 0, RESULT_PREVIEW_BYTES - 1),
    ]);
    if (!record.status) throw new FerryError("CallNotFound", `call ${callId} not found`);
    const entries: TimelineEntry[] = [];
    for (const raw of timeline) {
      try {
        entries.push(JSON.parse(raw) as TimelineEntry);
      } catch {
        // Unreadable entries are skipped.
      }
    }
    const enqueued = entries.find((e) => e.e === "enqueued");
    const requestPreview = Buffer.from(enqueued?.preview ?? "", "base64");
    const requestBytes = enqueued?.bytes ?? 0;
    const resultBytes = Number(record.resultBytes ?? 0);
    return {
      ...toStatus(record),
      queue: record.queue ?? null,
      reason: record.reason || null,
      redrives: Number(record.redrives ?? 0),
      dlqSeq: record.dlqSeq ? Number(record.dlqSeq) : null,
      timeline: entries.sort((a, b) => a.t - b.t).map(({ preview: _p, ...e }) => e),
      request: {
        bytes: requestBytes,
        preview: preview(requestPreview),
        truncated: requestBytes > requestPreview.length,
      },
      resultPreview:
        result && result.length > 0
          ? { ...preview(result), truncated: resultBytes > result.length }
          : null,
    };
  });

  app.post("/system/calls/:callId/cancel", async (req: ById, reply) => {
    const callId = callIdParam(req.params.callId);
    return forward(app, reply, "DELETE", `/async-function/${callId}`, undefined, credentials(req));
  });

  app.post(
    "/system/functions/:name/invoke",
    async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
      if (!NAME_PATTERN.test(req.params.name) || !opts.registry.get(req.params.name)) {
        throw new FerryError("FunctionNotFound", `function "${req.params.name}" not found`);
      }
      const headers = credentials(req);
      const type = req.headers["content-type"];
      if (type) headers["content-type"] = type;
      const cb = req.headers["x-callback-url"];
      if (typeof cb === "string") headers["x-callback-url"] = cb;
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      return forward(app, reply, "POST", `/async-function/${req.params.name}`, body, headers);
    },
  );

  app.get("/system/stats", async (req) => {
    const q = parseWith(StatsQuery, req.query, "query");
    return readStats(redisOf(), q.minutes);
  });

  app.get("/system/connectors", async () => ({
    connectors: opts.nc ? await readConnectors(opts.nc) : [],
  }));

  app.post(
    "/system/scale-function/:name",
    async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
      const spec = NAME_PATTERN.test(req.params.name) ? opts.registry.get(req.params.name) : null;
      if (!spec)
        throw new FerryError("FunctionNotFound", `function "${req.params.name}" not found`);
      const body = parseWith(ScaleBody, jsonBodyOf(req.body));
      if (!spec.watchdog) {
        throw new FerryError(
          "BadRequest",
          `function "${spec.name}" is served at its url, not by replicas Ferry runs`,
        );
      }
      const next = {
        ...spec,
        minReplicas: body.replicas,
        maxReplicas: Math.max(spec.maxReplicas, body.replicas),
      };
      await opts.registry.put(next);
      return reply.code(202).send({
        name: spec.name,
        minReplicas: next.minReplicas,
        maxReplicas: next.maxReplicas,
      });
    },
  );

  const overview = async (): Promise<Record<string, unknown>> => {
    const [queues, stats] = await Promise.all([
      queueViews(opts.registry, opts.jsm, opts.nc),
      opts.redis ? readStats(opts.redis, 15) : null,
    ]);
    return { at: Date.now(), queues, stats };
  };

  app.get("/system/overview", overview);

  app.get(
    "/system/stream",
    async (req: FastifyRequest<{ Querystring: { every?: string } }>, reply) => {
      const every = Math.min(Math.max(Number(req.query.every ?? 2000) || 2000, 500), 60_000);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      let closed = false;
      let timer: NodeJS.Timeout | undefined;
      const send = async (): Promise<void> => {
        if (closed) return;
        try {
          const data = await overview();
          if (!closed) res.write(`event: overview\ndata: ${JSON.stringify(data)}\n\n`);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (!closed) res.write(`event: problem\ndata: ${JSON.stringify({ message })}\n\n`);
        }
        if (!closed) timer = setTimeout(() => void send(), every);
      };
      const stop = (): void => {
        closed = true;
        clearTimeout(timer);
        streams.delete(end);
      };
      const end = (): void => {
        stop();
        res.end();
      };
      streams.add(end);
      req.raw.on("close", stop);
      res.write(`retry: ${every}\n\n`);
      await send();
    },
  );
}

/** The caller's credentials, passed on to the route a `/system` one runs (should it be guarded too). */
function credentials(req: FastifyRequest): Record<string, string> {
  const auth = req.headers.authorization;
  return auth ? { authorization: auth } : {};
}

/** Runs a route of this gateway for a `/system` one, so that both share one implementation. */
async function forward(
  app: FastifyInstance,
  reply: FastifyReply,
  method: "POST" | "DELETE",
  url: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<FastifyReply> {
  const res = await app.inject({ method, url, headers, ...(body ? { payload: body } : {}) });
  const type = res.headers["content-type"];
  if (typeof type === "string") reply.type(type);
  for (const name of ["x-call-id", "location"]) {
    const v = res.headers[name];
    if (typeof v === "string") reply.header(name, v);
  }
  return reply.code(res.statusCode).send(res.rawPayload);
}

async function readMany(
  redis: Redis,
  ids: string[],
  fields: string[],
): Promise<(string | null)[][]> {
  const pipe = redis.pipeline();
  for (const id of ids) pipe.hmget(callKey(id), ...fields);
  const rows = (await pipe.exec()) ?? [];
  return rows.map(([, r]) => (r as (string | null)[]) ?? []);
}

function preview(buf: Buffer): { bytes: number; text: string | null; base64: string | null } {
  const text = buf.toString("utf8");
  // Control characters other than tab, newline and carriage return mark a binary body.
  // eslint-disable-next-line no-control-regex
  const printable = !text.includes("\uFFFD") && !/[\x00-\x08\x0e-\x1f]/.test(text);
  return {
    bytes: buf.length,
    text: printable ? text : null,
    base64: printable ? null : buf.toString("base64"),
  };
}
