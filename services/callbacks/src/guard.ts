import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { buildConnector } from "undici";
import { BlockedAddressError, type AddressPolicy } from "@ferry/runtime";

/**
 * An undici connector that refuses blocked addresses at connect time, whatever DNS said when
 * the call was accepted: IP literals are checked before connecting, names in the DNS lookup the
 * socket itself uses, and the peer address once connected (belt and braces).
 */
export function guardedConnector(
  policy: AddressPolicy,
  timeoutMs: number,
): buildConnector.connector {
  const connect = buildConnector({ lookup: guardedLookup(policy), timeout: timeoutMs });
  return (opts, callback) => {
    const host = opts.hostname;
    if (isIP(unbracket(host)) && !policy.allowsAddress(host)) {
      callback(new BlockedAddressError(`callback address ${host} is blocked`), null);
      return;
    }
    connect(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error("no socket"), null);
      const peer = socket.remoteAddress;
      if (peer && !policy.allowsHostName(host) && !policy.allowsAddress(peer)) {
        socket.destroy();
        return callback(new BlockedAddressError(`${host} connected to blocked ${peer}`), null);
      }
      callback(null, socket);
    });
  };
}

function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, "", 0);
      const ok = policy.allowsHostName(hostname)
        ? addresses
        : addresses.filter((a) => policy.allowsAddress(a.address));
      if (ok.length === 0) {
        const refused = addresses[0]?.address ?? "nothing";
        const blocked = new BlockedAddressError(`${hostname} resolves to blocked ${refused}`);
        return callback(Object.assign(blocked, { code: "EBLOCKED" }), "", 0);
      }
      if (options.all) return (callback as AllCallback)(null, ok);
      const first = ok[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

type AllCallback = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
