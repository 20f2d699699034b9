/**
 * Redis keys the dashboard reads: written by the gateway, the queue-worker and the callbacks
 * service inside writes they already make (same Lua script or MULTI), so no extra round trip.
 */

/** Sorted set of recent call ids, scored by acceptance time (ms); capped at {@link RECENT_CALLS_MAX}. */
export const RECENT_CALLS_KEY = "ferry:calls:recent";

/** Most call ids kept in {@link RECENT_CALLS_KEY}. */
export const RECENT_CALLS_MAX = 10_000;

/** Redis list of a call's timeline entries (JSON {@link TimelineEntry}), as long-lived as its status. */
export function timelineKey(callId: string): string {
  return `ferry:timeline:${callId}`;
}

/** One step of a call's life, as stored in its timeline list. */
export interface TimelineEntry {
  /** When, ms since the epoch. */
  t: number;
  /** What happened. */
  e: "enqueued" | "attempt" | "attempt-failed" | "final" | "callback" | "redriven";
  /** Attempt number (attempt, attempt-failed, final, callback). */
  n?: number;
  /** Status of the call (final) or outcome of a callback attempt (`delivered`, `retry`, `failed`). */
  status?: string;
  /** HTTP status the function or callback receiver answered. */
  code?: number;
  /** Duration of the attempt, ms. */
  ms?: number;
  error?: string;
  /** Wait before the next attempt, ms (attempt-failed). */
  retryInMs?: number;
  worker?: string;
  /** Size of the request body (enqueued). */
  bytes?: number;
  /** The first bytes of the request body, base64 (enqueued). */
  preview?: string;
}

/** Width of one time-series bucket of {@link statsKey}, ms. */
export const STATS_BUCKET_MS = 10_000;

/** Seconds a stats bucket lives: the dashboard shows the last 15 minutes. */
export const STATS_TTL_SECONDS = 20 * 60;

/**
 * Redis hash of the counters of one 10-second bucket (`at`: any time in it, ms). Fields:
 * `accepted`, `done:<status>`, `done:<status>:<fn>`, `e2e:<b>` (end-to-end
 * latency histogram) and `dur:<fn>:<b>` (function duration histogram), `<b>` = {@link latencyBucket}.
 */
export function statsKey(at: number): string {
  return `ferry:stats:${Math.floor(at / STATS_BUCKET_MS) * STATS_BUCKET_MS}`;
}

/** Histogram bucket of a latency: four buckets per doubling (about ±10 % of the value). */
export function latencyBucket(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(120, Math.ceil(4 * Math.log2(ms)));
}

/** Upper bound (ms) of a {@link latencyBucket}. */
export function latencyBucketMs(bucket: number): number {
  return bucket <= 0 ? 1 : Math.round(2 ** (bucket / 4));
}

/** KV bucket of connector heartbeats: one key per running connector, expiring when it stops beating. */
export const CONNECTORS_STATUS_BUCKET = "ferry_connector_status";

/** A connector's heartbeat as stored in {@link CONNECTORS_STATUS_BUCKET}. */
export interface ConnectorHeartbeat {
  /** Source kind: cron, webhook, kafka, s3, … */
  kind: string;
  /** CloudEvents `source` of its events. */
  eventSource: string;
  /** `running` or `stopping`; a connector gone silent drops out when its key expires. */
  state: string;
  /** NATS connected. */
  connected: boolean;
  startedAt: number;
  /** When this heartbeat was written. */
  at: number;
  /** Publish time of the last event, ms; null before the first. */
  lastEventAt: number | null;
  /** Seconds between the last event's own time and its publish. */
  lagSeconds: number | null;
  published: number;
  failures: number;
}
