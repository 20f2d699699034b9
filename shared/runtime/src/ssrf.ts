import { BlockList, isIP } from "node:net";
import { lookup } from "node:dns/promises";

/**
 * Networks a callback must not reach unless allowlisted: loopback, "this network", private
 * (RFC 1918), carrier-grade NAT, link-local (where cloud metadata services live), benchmarking,
 * multicast and reserved ranges, and their IPv6 counterparts (unique-local, link-local, mapped).
 */
const BLOCKED_V4 = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
];
const BLOCKED_V6 = ["::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96"];

/** Thrown when a callback URL's host is, or resolves to, a blocked address. */
export class BlockedAddressError extends Error {
  override name = "BlockedAddressError";
  readonly code = "FERRY_ERR_BLOCKED_ADDRESS";
}

/** Decides which hosts and addresses outgoing callbacks may reach. */
export interface AddressPolicy {
  /** True when `address` (an IP literal) may be connected to. */
  allowsAddress(address: string): boolean;
  /** True when `hostname` is allowlisted by name, whatever it resolves to. */
  allowsHostName(hostname: string): boolean;
  /**
   * Resolves `hostname` (or takes it as an IP literal) and throws {@link BlockedAddressError}
   * unless every address is allowed. Resolves with the addresses.
   */
  check(hostname: string): Promise<string[]>;
}

/**
 * Builds a policy from an allowlist of host names (`callbacks.internal`), addresses (`127.0.0.1`)
 * and CIDRs (`10.1.0.0/16`, `fd00::/8`). Everything not blocked above is allowed.
 */
export function createAddressPolicy(allowlist: readonly string[] = []): AddressPolicy {
  const blocked = new BlockList();
  for (const cidr of BLOCKED_V4) addCidr(blocked, cidr, "ipv4");
  for (const cidr of BLOCKED_V6) addCidr(blocked, cidr, "ipv6");
  const allowed = new BlockList();
  const names = new Set<string>();
  for (const entry of allowlist.map((e) => e.trim().toLowerCase()).filter(Boolean)) {
    const [ip] = entry.split("/");
    const family = isIP(unbracket(ip ?? ""));
    if (family === 0) names.add(entry);
    else addCidr(allowed, entry.includes("/") ? entry : `${ip}/${family === 4 ? 32 : 128}`);
  }

  const allowsAddress = (address: string): boolean => {
    const ip = unmap(unbracket(address));
    const type = isIP(ip) === 6 ? "ipv6" : "ipv4";
    return allowed.check(ip, type) || !blocked.check(ip, type);
  };
  const allowsHostName = (hostname: string): boolean =>
    names.has(unbracket(hostname).toLowerCase());

  return {
    allowsAddress,
    allowsHostName,
    async check(hostname) {
      const host = unbracket(hostname);
      const addresses = isIP(host)
        ? [host]
        : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
      if (allowsHostName(host)) return addresses;
      const refused = addresses.find((a) => !allowsAddress(a));
      if (refused !== undefined) {
        const what = isIP(host)
          ? "is a blocked address"
          : `resolves to a blocked address (${refused})`;
        throw new BlockedAddressError(`${hostname} ${what}`);
      }
      return addresses;
    },
  };
}

function addCidr(list: BlockList, cidr: string, type?: "ipv4" | "ipv6"): void {
  const [ip = "", bits = ""] = cidr.split("/");
  const addr = unbracket(ip);
  list.addSubnet(addr, Number(bits), type ?? (isIP(addr) === 6 ? "ipv6" : "ipv4"));
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** `::ffff:10.0.0.1` is 10.0.0.1: judge IPv4-mapped addresses by their IPv4 part. */
function unmap(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m?.[1] ?? ip;
}
