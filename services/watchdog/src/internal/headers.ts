/**
 * Header filtering for the proxy, on Node's flat `rawHeaders` arrays ([name, value, name, value…])
 * so that forwarding allocates one array and no objects.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus the de-facto `proxy-connection` and `keep-alive`. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Lengths of the names above, so most headers are passed without lower-casing them. */
const HOP_LENGTHS = new Set([...HOP_BY_HOP].map((h) => h.length));

function isHopByHop(name: string, extra: Set<string> | undefined): boolean {
  if (!HOP_LENGTHS.has(name.length) && extra === undefined) return false;
  const lower = name.toLowerCase();
  return HOP_BY_HOP.has(lower) || (extra !== undefined && extra.has(lower));
}

/** Header names a `Connection` header lists, which are hop-by-hop for this message only. */
function connectionTokens(raw: string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 10 || name.toLowerCase() !== "connection") continue;
    for (const token of (raw[i + 1] as string).split(",")) {
      const t = token.trim().toLowerCase();
      if (t !== "" && t !== "close" && t !== "keep-alive") (tokens ??= new Set()).add(t);
    }
  }
  return tokens;
}

/**
 * Copies `raw` without hop-by-hop headers, then appends `extra` pairs. For a request
 * (`request`), `Expect` goes too: Node's server has already answered `100-continue`, and the
 * client frames the body again itself (a chunked body is sent chunked). `Host` is kept, so the
 * function sees the name it was called by.
 */
export function forwardHeaders(raw: string[], request: boolean, ...extra: string[]): string[] {
  const listed = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (isHopByHop(name, listed)) continue;
    if (request && name.length === 6 && name.toLowerCase() === "expect") continue;
    out.push(name, raw[i + 1] as string);
  }
  for (const value of extra) out.push(value);
  return out;
}

/** The first value of header `lowerName` in `raw`, without building Node's lazy `headers` object. */
export function rawHeader(raw: string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return raw[i + 1];
  }
  return undefined;
}
