import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { coalesceSocket } from "@ferry/runtime";

/** Options of {@link connectNats}. */
export interface ConnectOptions {
  /** Comma-separated server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string;
  /** Connection name shown in the server's monitoring. */
  name: string;
  logger: Logger;
  /** Give up if the first connection takes longer. Default: keep trying forever. */
  firstConnectTimeoutMs?: number;
}

/**
 * Connects with unlimited reconnects, so that a NATS restart is survived, and logs every
 * disconnect and reconnect. `isConnected()` of the result tells readiness.
 */
export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  const log = opts.logger.child({ component: "nats" });
  const nc = await connect({
    servers: opts.servers.split(",").map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    pingInterval: 10_000,
    // Each request (every JetStream publish) would otherwise build two Error objects with stack
    // traces up front, in case it fails: a tenth of the gateway's CPU per 202.
    noAsyncTraces: true,
    waitOnFirstConnect: opts.firstConnectTimeoutMs === undefined,
    ...(opts.firstConnectTimeoutMs !== undefined ? { timeout: opts.firstConnectTimeoutMs } : {}),
  });
  log.info({ server: nc.getServer() }, "connected to NATS");
  up.set(nc, true);
  coalesceSocket(socketOf(nc));
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        up.set(nc, false);
        log.warn({ server: status.server }, "NATS disconnected");
      } else if (status.type === "reconnect") {
        up.set(nc, true);
        coalesceSocket(socketOf(nc));
        log.info({ server: status.server }, "NATS reconnected");
      } else if (status.type === "error") log.error({ err: status.error }, "NATS error");
    }
  })();
  return nc;
}

const up = new WeakMap<NatsConnection, boolean>();

/**
 * The connection's current socket. nats.js already gathers one request's protocol lines into
 * one write, but flushes in a microtask, so each request handled in a turn still writes on its
 * own; coalescing the socket joins them. The path is nats.js internals: should it change, this
 * finds nothing and the connection runs as before.
 */
function socketOf(nc: NatsConnection): unknown {
  return (nc as unknown as { protocol?: { transport?: { socket?: unknown } } }).protocol?.transport
    ?.socket;
}

/** True while the connection is up: not closed, not draining, not between disconnect and reconnect. */
export function isConnected(nc: NatsConnection): boolean {
  return !nc.isClosed() && !nc.isDraining() && up.get(nc) !== false;
}

export type { NatsConnection };
