import { Agent, errors, type Dispatcher } from "undici";
import { HttpHeaders, type Invocation } from "@ferry/contracts";
import { callWhole } from "@ferry/runtime";
import type { CallBody } from "./body.js";

/** What a function answered, or why it could not be reached. */
export type DispatchResult =
  | {
      kind: "response";
      statusCode: number;
      contentType: string | undefined;
      body: Buffer;
      /** True when the watchdog, not the function, produced the response. */
      internal: boolean;
      /** The function's `Retry-After` header, if any. */
      retryAfter?: string;
      durationMs: number;
    }
  | { kind: "unreachable"; error: string; durationMs: number }
  | { kind: "timeout"; error: string; durationMs: number }
  | { kind: "cancelled"; error: string; durationMs: number };

/** Sends invocations to function endpoints over keep-alive connections. */
export class Dispatch {
  readonly #agent: Dispatcher;

  constructor(opts: { connectionsPerOrigin?: number } = {}) {
    this.#agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: opts.connectionsPerOrigin ?? 256,
      pipelining: 1,
    });
  }

  /** Calls `endpoint` with the invocation's method, path, query, headers and body. */
  async call(
    endpoint: string,
    inv: Invocation,
    body: CallBody,
    opts: { timeoutMs: number; attempt: number; maxAttempts?: number; signal?: AbortSignal },
  ): Promise<DispatchResult> {
    const started = performance.now();
    const base = new URL(endpoint);
    const path = joinPath(base.pathname, inv.path) + (inv.query ? `?${inv.query}` : "");
    try {
      const res = await callWhole(
        this.#agent,
        {
          origin: base.origin,
          path,
          method: inv.method as Dispatcher.HttpMethod,
          headers: requestHeaders(inv, opts.attempt, opts.maxAttempts),
          body,
          headersTimeout: opts.timeoutMs,
          bodyTimeout: opts.timeoutMs,
        },
        { signal: opts.signal },
      );
      const payload = res.body;
      const contentType = res.headers["content-type"];
      const retryAfter = res.headers[HttpHeaders.RetryAfter];
      return {
        kind: "response",
        statusCode: res.statusCode,
        contentType: Array.isArray(contentType) ? contentType[0] : contentType,
        body: payload,
        internal: res.headers[HttpHeaders.Internal] !== undefined,
        ...(typeof retryAfter === "string" ? { retryAfter } : {}),
        durationMs: performance.now() - started,
      };
    } catch (err) {
      const durationMs = performance.now() - started;
      if (opts.signal?.aborted)
        return { kind: "cancelled", error: "the call was aborted", durationMs };
      if (err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) {
        return {
          kind: "timeout",
          error: `the function did not answer in ${opts.timeoutMs} ms`,
          durationMs,
        };
      }
      return { kind: "unreachable", error: describe(err), durationMs };
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

function requestHeaders(
  inv: Invocation,
  attempt: number,
  maxAttempts: number | undefined,
): Record<string, string> {
  const headers: Record<string, string> = { ...inv.headers };
  headers[HttpHeaders.CallId] = inv.callId;
  headers[HttpHeaders.Attempt] = String(attempt);
  if (maxAttempts !== undefined) headers[HttpHeaders.MaxAttempts] = String(maxAttempts);
  if (inv.callbackUrl) headers[HttpHeaders.CallbackUrl] = inv.callbackUrl;
  if (inv.traceparent) headers.traceparent = inv.traceparent;
  if (inv.tracestate) headers.tracestate = inv.tracestate;
  return headers;
}

function joinPath(basePath: string, path: string): string {
  if (basePath === "/" || basePath === "") return path;
  return basePath.replace(/\/+$/, "") + path;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
