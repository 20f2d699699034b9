import type { ConnectorHeartbeat, TimelineEntry } from "@ferry/contracts";

/** An answer of the gateway that was not a success, with its `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A readable sentence for any error of a call to the API. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401 || err.status === 403) {
      return `Not authorized (${err.status}): ${err.message}. Sign in with the credentials of the gateway's /system API and reload.`;
    }
    return `${err.message} (${err.status}${err.code ? ` ${err.code}` : ""})`;
  }
  if (err instanceof TypeError) return `The gateway cannot be reached: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Calls the gateway (same origin: the browser's credentials apply); JSON in and out. */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; raw?: string; contentType?: string } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  let body: string | undefined;
  if (init.raw !== undefined) {
    body = init.raw;
    headers["content-type"] = init.contentType ?? "text/plain";
  } else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["content-type"] = "application/json";
  }
  const res = await fetch(path, {
    method: init.method ?? "GET",
    headers,
    credentials: "same-origin",
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: reported below when the status is an error.
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(
      res.status,
      e?.code ?? "",
      e?.message ?? (text.slice(0, 200) || res.statusText || "request failed"),
    );
  }
  return json as T;
}

export interface QueueView {
  queue: string;
  functions: string[];
  waiting: number;
  running: number;
  redelivered: number;
  oldestAgeSeconds: number | null;
  dlq: number;
  consumer: string | null;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

export interface Stats {
  bucketMs: number;
  buckets: {
    t: number;
    accepted: number;
    done: Record<string, number>;
    e2e: Percentiles | null;
  }[];
  functions: Record<string, { done: Record<string, number>; duration: Percentiles | null }>;
}

export interface Overview {
  at: number;
  queues: QueueView[];
  stats: Stats | null;
}

export interface FunctionView {
  name: string;
  queue: string;
  url?: string;
  watchdog?: unknown;
  minReplicas: number;
  maxReplicas: number;
  triggers?: string[];
  retry?: Record<string, unknown>;
  timeout: number;
  concurrency?: number;
  status: { ready: number | null; desired: number | null; queued: number; inflight: number | null };
}

export interface CallRow {
  callId: string;
  function: string;
  status: string;
  attempts: number;
  enqueuedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  statusCode: number | null;
  callbackState: string;
}

/** One step of a call's timeline (the types are the gateway's own, so they cannot drift). */
export type { TimelineEntry };

export interface Preview {
  bytes: number;
  text: string | null;
  base64: string | null;
  truncated: boolean;
}

export interface CallDetail extends CallRow {
  queue: string | null;
  error?: string;
  reason: string | null;
  redrives: number;
  startedAt: string | null;
  timeline: TimelineEntry[];
  request: { bytes: number; preview: Omit<Preview, "truncated">; truncated: boolean };
  resultPreview: Preview | null;
  callback: { url: string | null; state: string; attempts: number; lastError?: string };
}

export interface DeadLetter {
  seq: number;
  callId: string;
  function: string;
  queue: string;
  reason: string;
  statusCode: number;
  error: string;
  attempts: number;
  redrives: number;
  enqueuedAt: number;
  deadAt: number;
  bodyBytes: number;
}

export interface FailedCallback {
  callId: string;
  function: string;
  url: string;
  attempts: number;
  lastError: string | null;
  failedAt: string | null;
}

/** A running connector, as its last heartbeat said. */
export type ConnectorView = ConnectorHeartbeat;
