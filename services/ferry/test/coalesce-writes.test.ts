import { Socket } from "node:net";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { Redis } from "ioredis";
import { connectNats } from "@ferry/jetstream";
import { coalesceWrites, createLogger, flushWrites, logConnectionErrors } from "@ferry/runtime";
import { pino } from "pino";
import { startNats, startRedis, type ServerHandle } from "@ferry/testkit";
import { eventually } from "./helpers.js";

// The services' Redis status connections and their NATS connections send what one event-loop
// turn wrote as one write. What the server sees: one read for the commands of many requests.

let server: ServerHandle;
let probe: Redis;

beforeAll(async () => {
  server = await startRedis();
  probe = new Redis(server.url);
  // It sees the restarts of these tests too; its errors are not what they check.
  probe.on("error", () => {});
});

afterAll(async () => {
  probe.disconnect();
  await server.stop();
});

/** Read events Redis has handled so far, all clients together. */
async function readsProcessed(): Promise<number> {
  const info = await probe.info("stats");
  const line = info.split("\r\n").find((l) => l.startsWith("total_reads_processed:"));
  return Number(line?.split(":")[1]);
}

/** Sends `n` commands in one turn and returns how many reads Redis needed for them. */
async function readsFor(client: Redis, n: number): Promise<{ reads: number; replies: string[] }> {
  const before = await readsProcessed();
  const replies = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      client.set(`k${i}`, String(i)).then(() => client.get(`k${i}`)),
    ),
  );
  // The probe's own INFO is one read of the two calls' difference.
  const reads = (await readsProcessed()) - before - 1;
  return { reads, replies: replies.map(String) };
}

test("one turn's commands reach Redis in one read, and each gets its own reply", async () => {
  const plain = new Redis(server.url);
  const coalesced = new Redis(server.url);
  coalesceWrites(coalesced);
  try {
    await Promise.all([plain.ping(), coalesced.ping()]);
    const expected = Array.from({ length: 200 }, (_, i) => String(i));
    const a = await readsFor(plain, 200);
    const b = await readsFor(coalesced, 200);
    expect(a.replies).toEqual(expected);
    expect(b.replies).toEqual(expected);
    // 200 SETs, then 200 GETs, each group written in one turn: two writes.
    expect(b.reads).toBeLessThanOrEqual(4);
    expect(a.reads).toBeGreaterThan(20);
  } finally {
    plain.disconnect();
    coalesced.disconnect();
  }
});

test("a connection that reconnects after Redis restarts is coalesced again", async () => {
  const coalesced = new Redis(server.url, { maxRetriesPerRequest: null });
  coalesceWrites(coalesced);
  try {
    await coalesced.set("before", "1");
    await server.restart({ kill: true });
    await probe.ping().catch(() => {});
    await eventually(async () => (await coalesced.set("after", "1").catch(() => null)) === "OK");
    const { reads, replies } = await readsFor(coalesced, 100);
    expect(replies).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    expect(reads).toBeLessThanOrEqual(4);
  } finally {
    coalesced.disconnect();
  }
});

test("flushWrites sends what a turn's end wrote at once, not a turn later", async () => {
  const coalesced = new Redis(server.url);
  coalesceWrites(coalesced);
  try {
    await coalesced.ping();
    const socket = coalesced.stream;
    const seen = await new Promise<{ held: number; afterFlush: number; reply: Promise<string> }>(
      (done) =>
        setImmediate(() => {
          const reply = coalesced.set("flushed", "1");
          const held = socket.writableCorked;
          flushWrites(socket);
          done({ held, afterFlush: socket.writableCorked, reply });
        }),
    );
    expect(seen.held).toBe(1);
    expect(seen.afterFlush).toBe(0);
    expect(await seen.reply).toBe("OK");
    // Nothing held back: a second call is harmless.
    flushWrites(socket);
    expect(socket.writableCorked).toBe(0);
  } finally {
    coalesced.disconnect();
  }
});

/**
 * Counts the writes that reach sockets to `port`: net.Socket's `_write` (one chunk) and `_writev`
 * (what a cork gathered), the two ways a Writable hands data to the system.
 */
function countSocketWrites(port: number): { count: () => number; restore: () => void } {
  const proto = Socket.prototype as unknown as Record<
    "_write" | "_writev",
    (...a: unknown[]) => unknown
  >;
  const originals = { _write: proto._write, _writev: proto._writev };
  let count = 0;
  for (const name of ["_write", "_writev"] as const) {
    const original = originals[name];
    proto[name] = function (this: Socket, ...args: unknown[]) {
      if (this.remotePort === port) count++;
      return original.apply(this, args);
    };
  }
  return { count: () => count, restore: () => Object.assign(proto, originals) };
}

test("NATS publishes of separate requests in one turn leave as one write", async () => {
  const nats = await startNats();
  const nc = await connectNats({
    servers: nats.url,
    name: "coalesce-test",
    logger: createLogger({ name: "test", level: "silent" }),
  });
  const writes = countSocketWrites(nats.port);
  try {
    const sub = nc.subscribe("coalesce.>");
    const got: string[] = [];
    const all = (async () => {
      for await (const m of sub) if (got.push(m.subject) === 50) return;
    })();
    await nc.flush();
    const before = writes.count();
    // Each immediate stands for one request's handler; nats.js flushes each in its own microtask.
    await new Promise<void>((done) => {
      for (let i = 0; i < 50; i++) setImmediate(() => nc.publish(`coalesce.${i}`, "x"));
      setImmediate(done);
    });
    await all;
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `coalesce.${i}`));
    expect(writes.count() - before).toBe(1);
  } finally {
    writes.restore();
    await nc.close();
    await nats.stop();
  }
});

test("a Redis outage is logged once as a warning and once when the connection is back", async () => {
  const lines: { level: number; msg: string; connection?: string }[] = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  );
  const client = new Redis(server.url, { maxRetriesPerRequest: null });
  logConnectionErrors(client, logger, "status");
  // Without a listener ioredis reports each error on console.error, outside the service's log.
  const stderr = vi.spyOn(console, "error");
  try {
    await client.ping();
    await server.halt({ kill: true });
    await eventually(() => lines.filter((l) => l.level === 30 || l.level === 40).length >= 1);
    await new Promise((r) => setTimeout(r, 300)); // a few failed reconnect attempts
    await server.restart();
    await eventually(() => lines.some((l) => l.msg === "connection back"));
    const visible = lines.filter((l) => l.level >= 30);
    expect(visible.map((l) => [l.level, l.msg, l.connection])).toEqual([
      [40, "connection error; reconnecting", "status"],
      [30, "connection back", "status"],
    ]);
    expect(await client.ping()).toBe("PONG");
    expect(stderr.mock.calls.flat().join(" ")).not.toContain("Unhandled error event");
  } finally {
    stderr.mockRestore();
    client.disconnect();
  }
});
