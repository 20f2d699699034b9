import { FerryError } from "@ferry/contracts";
import { BlockedAddressError, type AddressPolicy } from "@ferry/runtime";

/** Per policy, hosts that passed recently and until when that counts; bounded. */
const passed = new WeakMap<AddressPolicy, Map<string, number>>();
const PASSED_MAX = 10_000;
const PASSED_MS = 30_000;

/**
 * Refuses (400) a callback URL whose host is, or resolves to, a loopback, private, link-local,
 * unique-local or metadata address, unless allowlisted. The callbacks service checks again at
 * delivery time, against the address it actually connects to.
 */
export async function checkCallbackHost(policy: AddressPolicy, callbackUrl: string): Promise<void> {
  const { hostname } = new URL(callbackUrl);
  const now = Date.now();
  let allowedUntil = passed.get(policy);
  if (!allowedUntil) passed.set(policy, (allowedUntil = new Map()));
  if ((allowedUntil.get(hostname) ?? 0) > now) return;
  try {
    await policy.check(hostname);
    // Most callers name the same few receivers: remember a host that passed for a while, so
    // neither DNS nor the address lists are on every 202's path. Delivery checks again anyway.
    if (allowedUntil.size >= PASSED_MAX) allowedUntil.clear();
    allowedUntil.set(hostname, now + PASSED_MS);
  } catch (err) {
    if (err instanceof BlockedAddressError) {
      throw new FerryError("BadCallbackUrl", `X-Callback-Url is not allowed: ${err.message}`);
    }
    const code = (err as { code?: string }).code ?? "";
    throw new FerryError("BadCallbackUrl", `X-Callback-Url host does not resolve (${code})`, {
      cause: err,
    });
  }
}
