import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { randomUUID } from "node:crypto";
import {
  CONNECTORS_STATUS_BUCKET,
  CloudEvent,
  Streams,
  encodeEvent,
  eventMsgId,
  eventSubject,
  type ConnectorHeartbeat,
} from "@ferry/contracts";
import {
  Publisher as JsPublisher,
  isConnected,
  toMsgHdrs,
  type NatsConnection,
} from "@ferry/jetstream";
import { createRegistry, sleep } from "@ferry/runtime";
import { SpanKind, currentTrace, extractTrace, withSpan } from "@ferry/runtime";
import { createConnectorMetrics, type ConnectorMetrics } from "./metrics.js";
import type { EventDraft, PositionStore, PublishOutcome, Source } from "./source.js";

/** KV bucket of connector positions. */
export const POSITIONS_BUCKET = "ferry_connectors";

/** Options of {@link startConnector}. */
export interface ConnectorOptions {
  source: Source;
  /** CloudEvents `source` of every event; replicas of one connector share it. */
  eventSource: string;
  nc: NatsConnection;
  logger: Logger;
  /** Longest wait for one publish ack. Default 5 s. */
  publishTimeoutMs?: number;
  /** Registry of the connector's metrics; a new one when absent. */
  metricsRegistry?: Registry;
  /** Period of the heartbeat the dashboard reads (state, last event, lag). Default 5 s. */
  heartbeatMs?: number;
}

/** A running connector. */
export interface Connector {
  metricsRegistry: Registry;
  /** True while NATS is connected and the connector is not stopping. */
  ready(): boolean;
  /** Stops the source, waits for publishes in flight (up to `deadlineMs`), then gives up retries. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Runs a source: publishes its events as CloudEvents and commits positions after the acks. */
export async function startConnector(opts: ConnectorOptions): Promise<Connector> {
  const { source } = opts;
  const log = opts.logger.child({ component: "connector", connector: source.kind });
  const metricsRegistry = opts.metricsRegistry ?? createRegistry();
  const metrics = createConnectorMetrics(metricsRegistry);
  const abort = new AbortController();
  const js = new JsPublisher(opts.nc);
  await warnIfNoStream(opts.nc, log);
  const positions = await openPositions(opts.nc);
  const inflight = new Set<Promise<unknown>>();
  const activity: Activity = { lastEventAt: null, lagSeconds: null, published: 0, failures: 0 };
  const publisher = { js, opts, metrics, log, signal: abort.signal, activity };

  await source.start({
    logger: log,
    signal: abort.signal,
    positions,
    publish(draft, pubOpts = {}) {
      const p = publishEvent(publisher, draft, pubOpts.retry ?? true).then(async (out) => {
        if (pubOpts.position !== undefined) await commit(source, pubOpts.position, log);
        return out;
      });
      inflight.add(p);
      void p.catch(() => {}).finally(() => inflight.delete(p));
      return p;
    },
  });
  log.info({ eventSource: opts.eventSource }, "connector started");
  let stopping = false;
  const heartbeat = await startHeartbeat(
    opts,
    activity,
    () => (stopping ? "stopping" : "running"),
    log,
  );
  return {
    metricsRegistry,
    ready: () => !stopping && isConnected(opts.nc),
    async stop(deadlineMs = 10_000) {
      stopping = true;
      await heartbeat.stop();
      await source.stop();
      await Promise.race([Promise.allSettled(inflight), sleep(deadlineMs)]);
      abort.abort();
      js.close();
      log.info("connector stopped");
    },
  };
}

interface Publisher {
  js: JsPublisher;
  opts: ConnectorOptions;
  metrics: ConnectorMetrics;
  log: Logger;
  signal: AbortSignal;
  activity: Activity;
}

/** What the heartbeat reports of a connector's publishing. */
interface Activity {
  lastEventAt: number | null;
  lagSeconds: number | null;
  published: number;
  failures: number;
}

/** Seconds a heartbeat stays in the bucket: a connector silent that long drops out. */
const HEARTBEAT_TTL_MS = 60_000;

/**
 * Writes the connector's heartbeat to {@link CONNECTORS_STATUS_BUCKET} now and every
 * `heartbeatMs`; best effort (a failed write is retried on the next beat). `stop` removes it.
 */
async function startHeartbeat(
  opts: ConnectorOptions,
  activity: Activity,
  state: () => string,
  log: Logger,
): Promise<{ stop(): Promise<void> }> {
  const kv = await new Kvm(opts.nc)
    .create(CONNECTORS_STATUS_BUCKET, { history: 1, ttl: HEARTBEAT_TTL_MS })
    .catch((err: unknown) => {
      log.warn({ err }, "connector heartbeat bucket not available");
      return undefined;
    });
  if (!kv) return { stop: async () => {} };
  const key = `${opts.source.kind}.${Buffer.from(opts.eventSource).toString("base64url")}.${randomUUID().slice(0, 8)}`;
  const startedAt = Date.now();
  const beat = async (): Promise<void> => {
    const hb: ConnectorHeartbeat = {
      kind: opts.source.kind,
      eventSource: opts.eventSource,
      state: state(),
      connected: isConnected(opts.nc),
      startedAt,
      at: Date.now(),
      ...activity,
    };
    await kv.put(key, JSON.stringify(hb)).catch(() => {});
  };
  await beat();
  const timer = setInterval(() => void beat(), opts.heartbeatMs ?? 5_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await kv.delete(key).catch(() => {});
    },
  };
}

function publishEvent(p: Publisher, draft: EventDraft, retry: boolean): Promise<PublishOutcome> {
  const span = {
    parent: extractTrace({ traceparent: draft.traceparent }),
    kind: SpanKind.PRODUCER,
    attributes: { "ferry.connector": p.opts.source.kind, "ferry.topic": draft.topic },
  };
  return withSpan("connector publish", span, () => publishTraced(p, draft, retry));
}

async function publishTraced(
  p: Publisher,
  draft: EventDraft,
  retry: boolean,
): Promise<PublishOutcome> {
  const event = CloudEvent.parse({
    specversion: "1.0",
    id: draft.id,
    source: p.opts.eventSource,
    type: draft.type,
    subject: draft.subject,
    time: draft.time,
    datacontenttype: draft.datacontenttype,
    extensions: draft.extensions ?? {},
  });
  const msgId = eventMsgId(event.source, event.id);
  const pairs = encodeEvent(event);
  const { traceparent, tracestate } = currentTrace({ traceparent: draft.traceparent });
  if (traceparent) pairs.push(["traceparent", traceparent]);
  if (tracestate) pairs.push(["tracestate", tracestate]);
  const labels = { connector: p.opts.source.kind, topic: draft.topic };
  for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      const ack = await p.js.publish(eventSubject(draft.topic), draft.data ?? new Uint8Array(), {
        msgID: msgId,
        headers: toMsgHdrs(pairs),
        timeout: p.opts.publishTimeoutMs ?? 5_000,
      });
      p.metrics.published.inc({ ...labels, duplicate: String(ack.duplicate) });
      if (event.time) p.metrics.lag.set({ connector: labels.connector }, lagOf(event.time));
      p.activity.published += 1;
      p.activity.lastEventAt = Date.now();
      p.activity.lagSeconds = event.time ? lagOf(event.time) : null;
      p.log.debug(
        { eventId: event.id, topic: draft.topic, seq: ack.seq, duplicate: ack.duplicate },
        "event published",
      );
      return { msgId, seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      p.metrics.failures.inc(labels);
      p.activity.failures += 1;
      if (!retry || p.signal.aborted) throw err;
      p.log.warn(
        { err, eventId: event.id, topic: draft.topic, retryInMs: wait },
        "publish failed, retrying",
      );
      await sleep(wait, p.signal);
    }
  }
}

/**
 * Commits a position. The event is already stored, so a failed commit is only logged: the next
 * commit carries the position forward, and an event re-published from the older position
 * within the dedupe window is dropped by JetStream.
 */
async function commit(source: Source, position: unknown, log: Logger): Promise<void> {
  try {
    await source.commit?.(position);
  } catch (err) {
    log.warn({ err }, "source position not committed");
  }
}

function lagOf(time: string): number {
  const t = Date.parse(time);
  return Number.isNaN(t) ? 0 : Math.max(0, (Date.now() - t) / 1000);
}

async function warnIfNoStream(nc: NatsConnection, log: Logger): Promise<void> {
  try {
    await (await jetstreamManager(nc)).streams.info(Streams.Events);
  } catch {
    log.warn(
      `stream ${Streams.Events} not found: publishes are retried until the gateway or ferry up provisions it`,
    );
  }
}

async function openPositions(nc: NatsConnection): Promise<PositionStore> {
  const kv = await new Kvm(nc).create(POSITIONS_BUCKET, { history: 1 });
  return {
    async get(key) {
      const entry = await kv.get(key);
      return entry && entry.operation === "PUT" ? entry.string() : undefined;
    },
    async put(key, value) {
      await kv.put(key, value);
    },
  };
}
