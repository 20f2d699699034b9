import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Verifies a Standard Webhooks signature: `webhook-signature` holds space-separated `v1,<base64>`
 * entries, each an HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` under one of the
 * `whsec_` secrets. Written from the specification, independently of the signer.
 */
export function verifySignature(
  secrets: readonly string[],
  headers: { id?: string; timestamp?: string; signature?: string },
  body: Buffer,
  toleranceSeconds = 300,
  now = Date.now(),
): boolean {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return false;
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(now / 1000 - ts) > toleranceSeconds) return false;
  const offered = signature
    .split(" ")
    .filter((s) => s.startsWith("v1,"))
    .map((s) => Buffer.from(s.slice(3), "base64"));
  const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]);
  return secrets.some((secret) => {
    const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
    const expected = createHmac("sha256", key).update(content).digest();
    return offered.some((o) => o.length === expected.length && timingSafeEqual(o, expected));
  });
}
