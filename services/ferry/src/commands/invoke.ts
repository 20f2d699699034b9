import { GatewayClient, errorMessage, type GatewayFlags } from "./client.js";
import { CliError, type Io } from "./io.js";

/** Options of `ferry invoke`. */
export interface InvokeFlags extends GatewayFlags {
  name: string;
  async?: boolean;
  callbackUrl?: string;
  idempotencyKey?: string;
  header: string[];
  method: string;
}

/** `ferry invoke NAME`: the body from stdin; sync prints the answer, `--async` the call id. */
export async function invoke(flags: InvokeFlags, io: Io): Promise<void> {
  const headers = parseHeaders(flags.header);
  if (flags.callbackUrl) headers["x-callback-url"] = flags.callbackUrl;
  if (flags.idempotencyKey) headers["idempotency-key"] = flags.idempotencyKey;
  const body = await io.stdin();
  const client = new GatewayClient(flags, io);
  const path = `/${flags.async ? "async-function" : "function"}/${flags.name}`;
  const method = flags.async ? "POST" : flags.method.toUpperCase();
  const res = await client.request(method, path, {
    headers,
    ...(method === "GET" || method === "HEAD" ? {} : { body }),
  });
  if (flags.async) {
    const text = await res.text();
    if (res.status !== 202) throw new CliError(errorMessage(res.status, text));
    const callId = res.headers.get("x-call-id") ?? "";
    io.out(flags.json ? JSON.stringify({ callId, status: "queued" }) + "\n" : `${callId}\n`);
    return;
  }
  const answer = Buffer.from(await res.arrayBuffer());
  if (flags.json) {
    io.out(
      JSON.stringify({
        statusCode: res.status,
        callId: res.headers.get("x-call-id"),
        contentType: res.headers.get("content-type"),
        body: answer.toString("utf8"),
      }) + "\n",
    );
  } else {
    io.out(answer.toString("utf8"));
  }
  if (res.status >= 400) throw new CliError(`the function answered ${res.status}`, 1);
}

/** `-H k=v` (or `k: v`) flags to a header map. */
export function parseHeaders(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^([^=:]+)[=:]\s*(.*)$/.exec(pair);
    if (!match) throw new CliError(`-H ${pair}: expected name=value`, 2);
    out[(match[1] as string).trim().toLowerCase()] = match[2] as string;
  }
  return out;
}
