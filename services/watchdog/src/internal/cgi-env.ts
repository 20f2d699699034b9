import type { IncomingMessage } from "node:http";

/**
 * The classic watchdog's request environment: every header as `Http_<Name>` with Go's canonical
 * header case and dashes as underscores (`content-type` → `Http_Content_Type`), plus
 * `Http_Method`, `Http_Path` and `Http_Query` (the last two only when non-empty, as classic).
 * A repeated header keeps its first value, as classic does.
 */
export function requestEnv(req: IncomingMessage, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...base, ...requestVars(req) };
}

/** Only the request's own variables of {@link requestEnv}, to be laid over a base environment. */
export function requestVars(req: IncomingMessage): Record<string, string> {
  const vars: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const key = `Http_${canonicalHeader(raw[i] as string).replaceAll("-", "_")}`;
    if (key in vars) continue;
    vars[key] = raw[i + 1] as string;
  }
  vars.Http_Method = req.method ?? "GET";
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? "" : url.slice(q + 1);
  if (path !== "") vars.Http_Path = path;
  if (query !== "") vars.Http_Query = query;
  return vars;
}

/** Go's `CanonicalMIMEHeaderKey`: upper case after each dash and at the start, lower elsewhere. */
export function canonicalHeader(name: string): string {
  let out = "";
  let upper = true;
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === "-";
  }
  return out;
}
