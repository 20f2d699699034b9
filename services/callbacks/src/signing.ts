import { Webhook } from "standardwebhooks";

/** Signs callbacks the Standard Webhooks way, with every configured secret at once. */
export interface Signer {
  /** `webhook-*` headers for one attempt: id, Unix-seconds timestamp and the signatures. */
  headers(id: string, body: Uint8Array, at?: Date): Record<string, string>;
}

/**
 * Builds a signer from `whsec_` secrets. Several secrets give several space-separated `v1,`
 * signatures, so a receiver holding either the old or the new key verifies during a rotation.
 * With no secrets, callbacks go unsigned.
 */
export function createSigner(secrets: readonly string[]): Signer | undefined {
  if (secrets.length === 0) return undefined;
  const hooks = secrets.map((s) => new Webhook(s));
  return {
    headers(id, body, at = new Date()) {
      const payload = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      const signatures = hooks.map((h) => h.sign(id, at, payload));
      return {
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": signatures.join(" "),
      };
    },
  };
}
