import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FunctionSpec } from "@ferry/contracts";
import { recorderSpec } from "./helpers.js";

/** A call's status as `GET /async-function/status/:callId` returns it. */
export interface StatusBody {
  callId: string;
  function: string;
  status: string;
  attempts: number;
  enqueuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  statusCode: number | null;
  durationMs: number | null;
  error?: string;
  result: { bytes: number; stored: boolean; contentType: string | null } | null;
  callback: { url: string | null; state: string; attempts: number; lastError?: string };
}

/** Reads a call's status; undefined on 404. */
export async function statusOf(
  gatewayUrl: string,
  callId: string,
): Promise<StatusBody | undefined> {
  const res = await fetch(`${gatewayUrl}/async-function/status/${callId}`);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`status answered ${res.status}`);
  return (await res.json()) as StatusBody;
}

/** Polls a call's status until `done` holds; returns every distinct status seen, in order. */
export async function watchStatus(
  gatewayUrl: string,
  callId: string,
  done: (s: StatusBody) => boolean,
  timeoutMs = 30_000,
): Promise<{ seen: string[]; last: StatusBody }> {
  const seen: string[] = [];
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await statusOf(gatewayUrl, callId);
    if (s && seen.at(-1) !== s.status) seen.push(s.status);
    if (s && done(s)) return { seen, last: s };
    if (Date.now() > until) throw new Error(`call ${callId}: saw ${seen.join(" → ")}, not done`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A recorder spec with a prefix on its answers and optional destinations. */
export function chainSpec(
  name: string,
  runLog: string,
  prefix: string,
  extra: Partial<FunctionSpec> = {},
): FunctionSpec {
  const base = recorderSpec(name, runLog);
  return { ...base, env: { ...base.env, PREFIX: prefix }, ...extra };
}

/** Hex SHA-256 of a buffer: compares large bodies without printing them. */
export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Whether a callback's Standard Webhooks signature verifies with `secret` (HMAC by hand). */
export function signatureValid(
  secret: string,
  headers: Record<string, unknown>,
  body: Buffer,
): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const signed = `${String(headers["webhook-id"])}.${String(headers["webhook-timestamp"])}.`;
  const expected = createHmac("sha256", key)
    .update(Buffer.concat([Buffer.from(signed), body]))
    .digest();
  return String(headers["webhook-signature"] ?? "")
    .split(" ")
    .filter((s) => s.startsWith("v1,"))
    .map((s) => Buffer.from(s.slice(3), "base64"))
    .some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected));
}
