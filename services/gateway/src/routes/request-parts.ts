import type { FastifyRequest } from "fastify";
import type { z } from "zod";
import { CALL_ID_PATTERN, FerryError } from "@ferry/contracts";

/**
 * The (decoded) path below the function. Refused: `.` and `..` segments, backslashes and control
 * characters, which could climb out of a static function's directory or break the envelope.
 */
export function pathOf(rest: string | undefined): string {
  const path = "/" + (rest ?? "");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(path) || /(^|\/)\.\.?(\/|$)/.test(path)) {
    throw new FerryError(
      "BadRequest",
      "the path must not hold '.' or '..' segments, '\\' or control characters",
    );
  }
  return path;
}

/** Headers the request's `Connection` header names: hop-by-hop, never forwarded (RFC 9110 §7.6.1). */
export function hopByHopOf(req: FastifyRequest): string[] {
  const connection = req.headers.connection;
  return connection ? connection.toLowerCase().split(/\s*,\s*/) : [];
}

/** A call id from a URL or body; anything else is a 400 `FERRY_ERR_BAD_CALL_ID`. */
export function callIdParam(value: string): string {
  if (!CALL_ID_PATTERN.test(value)) throw new FerryError("BadCallId", "not a call id");
  return value;
}

/** Decodes `value` with `schema`; the first problem is a 400 naming its path (else `where`). */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, where = "body"): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new FerryError("BadRequest", `${issue?.path.join(".") || where}: ${issue?.message}`);
}

/**
 * The JSON of a system API body; an empty body is `{}`. The gateway keeps every body raw
 * (functions get them untouched), so JSON is decoded here.
 */
export function jsonBodyOf(body: unknown): unknown {
  if (!Buffer.isBuffer(body) || body.length === 0) return {};
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new FerryError("BadRequest", "the body is not JSON");
  }
}
