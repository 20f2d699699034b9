import { FerryError, HttpHeaders } from "@ferry/contracts";
import { parseDuration } from "@ferry/runtime";

/**
 * The time a call may run from its `X-Delay` (seconds, or `30s`, `5m`, `1h`) or `X-Not-Before`
 * (HTTP date, ISO 8601 or Unix seconds) header; undefined when neither is set. Throws a 400 for a
 * malformed value or one beyond `maxDelayMs` from now.
 */
export function notBeforeOf(
  headers: Record<string, string | string[] | undefined>,
  maxDelayMs: number,
  now = Date.now(),
): number | undefined {
  const delay = first(headers[HttpHeaders.Delay]);
  const at = first(headers[HttpHeaders.NotBefore]);
  if (delay !== undefined && at !== undefined) {
    throw new FerryError("BadRequest", "send X-Delay or X-Not-Before, not both");
  }
  let notBefore: number | undefined;
  if (delay !== undefined) {
    const ms = parseDuration(/^\d+(\.\d+)?$/.test(delay.trim()) ? `${delay.trim()}s` : delay);
    if (ms === undefined)
      throw new FerryError("BadRequest", `X-Delay is not a duration: "${delay}"`);
    notBefore = now + ms;
  } else if (at !== undefined) {
    const trimmed = at.trim();
    const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed);
    if (Number.isNaN(ms)) throw new FerryError("BadRequest", `X-Not-Before is not a time: "${at}"`);
    notBefore = ms;
  }
  if (notBefore === undefined || notBefore <= now) return undefined;
  if (notBefore - now > maxDelayMs) {
    throw new FerryError(
      "BadRequest",
      `the delay is longer than the maximum of ${Math.round(maxDelayMs / 1000)} s`,
    );
  }
  return Math.round(notBefore);
}

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v === "" ? undefined : v;
}
