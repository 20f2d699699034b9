import { afterAll, beforeAll, expect, test } from "vitest";
import { Redis } from "ioredis";
import { coalesceWrites } from "@ferry/runtime";
import { startRedis, type ServerHandle } from "@ferry/testkit";
import { eventually } from "./helpers.js";

// The status connections of the gateway, the worker and the callbacks service send the commands
// of one event-loop turn as one write. What Redis sees: one read for many commands.

let server: ServerHandle;
let probe: Redis;

beforeAll(async () => {
  server = await startRedis();
  probe = new Redis(server.url);
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
    expect(a.reads).toBeGreaterThan(50);
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
