import type { Writable } from "node:stream";

/** A client whose socket can be replaced on reconnect (an ioredis connection, say). */
export interface StreamClient {
  /** The current socket; undefined before the first connect. */
  stream?: unknown;
  on(event: "connect", listener: () => void): unknown;
}

const COALESCED = Symbol("ferry.coalesced");

/** What {@link coalesceSocket} keeps on a socket. */
interface Coalesced {
  /** True from a turn's first write until its writes are sent. */
  corked: boolean;
}

type CoalescedSocket = Writable & { [COALESCED]?: Coalesced };

/**
 * Sends what is written to `socket` during one turn of the event loop as one socket write. The
 * first write of a turn corks the socket and `setImmediate` uncorks it, so what all the
 * requests handled in that turn wrote leaves together, after that I/O, instead of one `write`
 * syscall each (and one read each on the other side). Only when bytes reach the socket changes:
 * their order, and so a client's matching of replies to commands, stays as it was. `end()`
 * flushes corked data; `destroy()` drops it, as it drops any unsent write. Applying it twice is
 * harmless; anything that is not a writable stream is left alone.
 *
 * Costs at most one turn of the loop per write, which at low load is microseconds.
 */
export function coalesceSocket(socket: unknown): void {
  const s = socket as CoalescedSocket | undefined;
  if (typeof s?.write !== "function" || typeof s.cork !== "function" || s[COALESCED]) return;
  const state: Coalesced = { corked: false };
  s[COALESCED] = state;
  const write = s.write;
  s.write = function (this: Writable, ...args: Parameters<Writable["write"]>): boolean {
    if (!state.corked && !s.destroyed) {
      state.corked = true;
      s.cork();
      setImmediate(() => flushWrites(s));
    }
    return write.apply(this, args);
  } as Writable["write"];
}

/**
 * Sends what {@link coalesceSocket} holds back on `socket` now, instead of at the turn's end: for
 * a writer that itself runs at a turn's end (a batch flushed by `setImmediate`), whose write would
 * otherwise wait for the next turn. A socket that holds nothing back is left alone.
 */
export function flushWrites(socket: unknown): void {
  const s = socket as CoalescedSocket | undefined;
  const state = s?.[COALESCED];
  if (!state?.corked) return;
  state.corked = false;
  s?.uncork();
}

/**
 * {@link coalesceSocket} for an ioredis connection, on its current socket and on each one it
 * reconnects with. Unlike ioredis' `enableAutoPipelining`, which batches inside the client and
 * can throw from a callback when a batch resolves without results (redis/ioredis#1931), this
 * leaves the client's command handling alone.
 */
export function coalesceWrites(client: StreamClient): void {
  client.on("connect", () => coalesceSocket(client.stream));
  coalesceSocket(client.stream);
}
