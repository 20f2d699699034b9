import type { Writable } from "node:stream";

/** A client whose socket can be replaced on reconnect (an ioredis connection, say). */
export interface StreamClient {
  /** The current socket; undefined before the first connect. */
  stream?: unknown;
  on(event: "connect", listener: () => void): unknown;
}

const COALESCED = Symbol("ferry.coalesced");

/**
 * Sends what a client writes during one turn of the event loop as one socket write. The first
 * write of a turn corks the socket and `setImmediate` uncorks it, so the commands of all the
 * requests whose I/O this turn handled leave together, after that I/O, instead of one `write`
 * syscall each (and one read on the server's side each). Replies still arrive in order, so the
 * client's own matching of replies to commands is untouched. Unlike ioredis' `enableAutoPipelining`,
 * which batches inside the client and can throw from a callback when a batch resolves without
 * results (redis/ioredis#1931), this only changes when bytes reach the socket.
 *
 * Costs at most one turn of the loop per command, which at low load is microseconds. Applied on
 * each connect, so a reconnected socket is coalesced too.
 */
export function coalesceWrites(client: StreamClient): void {
  const patch = (): void => {
    const socket = client.stream as (Writable & { [COALESCED]?: true }) | undefined;
    if (socket === undefined || socket[COALESCED]) return;
    socket[COALESCED] = true;
    const write = socket.write;
    let corked = false;
    const uncork = (): void => {
      corked = false;
      socket.uncork();
    };
    socket.write = function (this: Writable, ...args: Parameters<Writable["write"]>): boolean {
      if (!corked && !socket.destroyed) {
        corked = true;
        socket.cork();
        setImmediate(uncork);
      }
      return write.apply(this, args);
    } as Writable["write"];
  };
  client.on("connect", patch);
  patch();
}
