import type { FastifyRequest } from "fastify";
import { FerryError } from "@ferry/contracts";

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
