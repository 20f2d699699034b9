import { FerryError } from "@ferry/contracts";
import { BlockedAddressError, type AddressPolicy } from "@ferry/runtime";

/**
 * Refuses (400) a callback URL whose host is, or resolves to, a loopback, private, link-local,
 * unique-local or metadata address, unless allowlisted. The callbacks service checks again at
 * delivery time, against the address it actually connects to.
 */
export async function checkCallbackHost(policy: AddressPolicy, callbackUrl: string): Promise<void> {
  const { hostname } = new URL(callbackUrl);
  try {
    await policy.check(hostname);
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
