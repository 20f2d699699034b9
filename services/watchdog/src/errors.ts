import type { ServerResponse } from "node:http";

/**
 * Error codes the watchdog answers with, and their HTTP status. The codes are the ones
 * `@ferry/contracts` names, repeated here so the sidecar has no dependency beyond the runtime.
 */
export const WatchdogErrors = {
  BadRequest: { code: "FERRY_ERR_BAD_REQUEST", status: 400 },
  TooManyRequests: { code: "FERRY_ERR_TOO_MANY_REQUESTS", status: 429 },
  FunctionFailed: { code: "FERRY_ERR_FUNCTION_FAILED", status: 500 },
  Internal: { code: "FERRY_ERR_INTERNAL", status: 500 },
  BadGateway: { code: "FERRY_ERR_BAD_GATEWAY", status: 502 },
  Unavailable: { code: "FERRY_ERR_UNAVAILABLE", status: 503 },
  Timeout: { code: "FERRY_ERR_TIMEOUT", status: 504 },
  NotFound: { code: "FERRY_ERR_NOT_FOUND", status: 404 },
  MethodNotAllowed: { code: "FERRY_ERR_METHOD_NOT_ALLOWED", status: 405 },
} as const;
export type WatchdogErrorKind = keyof typeof WatchdogErrors;

/** The header that marks a response as the watchdog's own, not the function's. */
export const INTERNAL_HEADER = "x-ferry-internal";

/** An error the watchdog answers itself, with a stable code and status. */
export class WatchdogError extends Error {
  override name = "WatchdogError";
  readonly code: string;
  readonly status: number;
  /**
   * Platform errors (busy, timeout, crash) carry `X-Ferry-Internal` so that workers retry them;
   * answers that belong to the function (a missing static file) do not.
   */
  readonly internal: boolean;
  constructor(
    kind: WatchdogErrorKind,
    message: string,
    options?: ErrorOptions & { internal?: boolean },
  ) {
    super(message, options);
    this.code = WatchdogErrors[kind].code;
    this.status = WatchdogErrors[kind].status;
    this.internal = options?.internal ?? true;
  }
}

/**
 * Answers `err` as `{ error: { code, message } }` if headers are not yet sent; otherwise the
 * status line is gone, so the only honest signal left is to cut the response short.
 */
export function sendError(res: ServerResponse, err: WatchdogError, durationSeconds: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  const headers: Record<string, string | number> = {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "x-duration-seconds": durationSeconds,
  };
  if (err.internal) headers[INTERNAL_HEADER] = "watchdog";
  res.writeHead(err.status, headers).end(body);
}
