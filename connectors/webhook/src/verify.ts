import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Verify } from "./config.js";

/** Outcome of verifying one request: the id the sender gave the delivery, if any. */
export type Verdict = { ok: true; deliveryId?: string | undefined } | { ok: false; reason: string };

/** Checks one request against a hook's verification settings. */
export type Verifier = (headers: IncomingHttpHeaders, body: Buffer, now: number) => Verdict;

/** Builds the verifier of a hook with its resolved secret. */
export function verifierOf(verify: Verify, secret: string): Verifier {
  if (verify.type === "github") return (h, body) => github(h, body, secret);
  if (verify.type === "standard-webhooks") {
    return (h, body, now) => standard(h, body, secret, verify.tolerance, now);
  }
  return (h) => token(h, verify.header, secret);
}

function github(h: IncomingHttpHeaders, body: Buffer, secret: string): Verdict {
  const given = one(h["x-hub-signature-256"]);
  if (!given?.startsWith("sha256=")) return { ok: false, reason: "missing X-Hub-Signature-256" };
  const expected = "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
  if (!same(given, expected)) return { ok: false, reason: "signature does not match" };
  return { ok: true, deliveryId: one(h["x-github-delivery"]) };
}

/** Standard Webhooks: HMAC-SHA256 of `id.timestamp.body` keyed by the base64 part of `whsec_…`. */
function standard(
  h: IncomingHttpHeaders,
  body: Buffer,
  secret: string,
  toleranceMs: number,
  now: number,
): Verdict {
  const id = one(h["webhook-id"]);
  const ts = one(h["webhook-timestamp"]);
  const sigs = one(h["webhook-signature"]);
  if (!id || !ts || !sigs)
    return { ok: false, reason: "missing webhook-id, -timestamp or -signature" };
  if (!/^\d+$/.test(ts) || Math.abs(now - Number(ts) * 1000) > toleranceMs) {
    return { ok: false, reason: "webhook-timestamp outside the tolerance" };
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${ts}.`).update(body).digest("base64");
  const match = sigs.split(" ").some((s) => s.startsWith("v1,") && same(s.slice(3), expected));
  return match ? { ok: true, deliveryId: id } : { ok: false, reason: "signature does not match" };
}

function token(h: IncomingHttpHeaders, header: string, secret: string): Verdict {
  const raw = one(h[header]);
  const given = header === "authorization" ? raw?.replace(/^Bearer\s+/i, "") : raw;
  return given !== undefined && same(given, secret)
    ? { ok: true }
    : { ok: false, reason: "bad token" };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
