import { afterAll, beforeAll, expect, test } from "vitest";
import { Redis } from "ioredis";
import { coalesceWrites } from "./coalesce.js";
import { startRedis, type ServerHandle } from "@ferry/testkit";
import { ScriptBatch, fieldArgs } from "./script-batch.js";

// Calls that write in the same turn share one script call, and each still gets its own answer.

let server: ServerHandle;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

/** Script calls (EVAL and EVALSHA) Redis has served so far. */
async function scriptCalls(): Promise<number> {
  const info = await redis.info("commandstats");
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)) calls += Number(m[1]);
  return calls;
}

/** Adds ARGV[1] to the counter KEYS[1] and returns it with ARGV[2]. */
const ADD = `return { redis.call('INCRBY', KEYS[1], ARGV[1]), ARGV[2] }`;

test("the runs of one turn go in one script call, each with its own keys, arguments and answer", async () => {
  const batch = new ScriptBatch(redis, "TestAdd", ADD);
  await batch.run(["warm"], [1, "x"]);
  const before = await scriptCalls();
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => batch.run([`n:${i % 4}`], [i, `run ${i}`])),
  );
  expect(answers).toEqual(
    Array.from({ length: 20 }, (_, i) => {
      // Runs on the same counter add up in the order they were asked for.
      let sum = 0;
      for (let j = i % 4; j <= i; j += 4) sum += j;
      return [sum, `run ${i}`];
    }),
  );
  expect((await scriptCalls()) - before).toBe(1);
  expect(await redis.mget("n:0", "n:1", "n:2", "n:3")).toEqual(["40", "45", "50", "55"]);
});

test("a run that fails fails alone: the others in its batch are written and answered", async () => {
  const batch = new ScriptBatch(redis, "TestAdd", ADD);
  await redis.hset("not-a-counter", { a: 1 });
  const runs = [
    batch.run(["ok:1"], [1, "first"]),
    batch.run(["not-a-counter"], [1, "wrong type"]),
    batch.run(["ok:2"], [2, "last"]),
  ];
  const [first, failed, last] = await Promise.allSettled(runs);
  expect(first).toEqual({ status: "fulfilled", value: [1, "first"] });
  expect(last).toEqual({ status: "fulfilled", value: [2, "last"] });
  expect(failed?.status).toBe("rejected");
  expect(String((failed as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
  expect(await redis.mget("ok:1", "ok:2")).toEqual(["1", "2"]);
});

test("more runs than one script takes are split, and binary arguments arrive intact", async () => {
  const coalesced = new Redis(server.url);
  coalesceWrites(coalesced);
  try {
    const batch = new ScriptBatch(
      coalesced,
      "TestSet",
      `redis.call('SET', KEYS[1], ARGV[1]) return redis.call('STRLEN', KEYS[1])`,
    );
    await batch.run(["warm"], ["x"]);
    const before = await scriptCalls();
    const body = Buffer.from([0, 255, 13, 10, 1]);
    const lengths = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        batch.run([`bin:${i}`], [Buffer.concat([body, Buffer.from(String(i))])]),
      ),
    );
    expect(lengths).toEqual(Array.from({ length: 150 }, (_, i) => 5 + String(i).length));
    // 64 runs a script at most.
    expect((await scriptCalls()) - before).toBe(3);
    expect(await redis.getBuffer("bin:7")).toEqual(Buffer.concat([body, Buffer.from("7")]));
  } finally {
    coalesced.disconnect();
  }
});

test("sent: a run has left whole once its turn's flush wrote it all and it fits one read of Redis, not before, and not while a large one is still in the socket", async () => {
  const client = new Redis(server.url);
  coalesceWrites(client);
  const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  try {
    const batch = new ScriptBatch(
      client,
      "TestSent",
      `redis.call('SET', KEYS[1], ARGV[1]) return 1`,
    );
    await client.ping();
    // Until Redis has run the script once on this connection, an EVALSHA may come back NOSCRIPT.
    const first = batch.run(["sent:1"], ["x"]);
    await nextTurn();
    expect(batch.sent()).toBe(false);
    await first;

    const small = batch.run(["sent:2"], ["y"]);
    expect(batch.sent()).toBe(false); // waits for the turn's end
    await nextTurn();
    expect(batch.sent()).toBe(true);
    await small;

    // Taken by the kernel at once, but longer than Redis reads at a time.
    const longer = batch.run(["sent:4"], ["z".repeat(20_000)]);
    await nextTurn();
    expect(batch.sent()).toBe(false);
    await longer;
    const after = batch.run(["sent:5"], ["y"]);
    await nextTurn();
    expect(batch.sent()).toBe(true);
    await after;

    const large = batch.run(["sent:3"], [Buffer.alloc(64 * 1024 * 1024, 1)]);
    await nextTurn();
    expect(batch.sent()).toBe(false); // more than the kernel takes at once
    await large;
    expect(await client.strlen("sent:3")).toBe(64 * 1024 * 1024);
  } finally {
    client.disconnect();
  }
});

test("sent: not while Redis is away (commands wait in the client's offline queue)", async () => {
  const own = await startRedis();
  const client = new Redis(own.url, { maxRetriesPerRequest: null });
  client.on("error", () => {}); // refused reconnects while the server is down
  try {
    const batch = new ScriptBatch(client, "TestAway", `return redis.call('INCR', KEYS[1])`);
    await batch.run(["away"], []);
    await own.halt();
    await new Promise<void>((resolve) => client.once("close", () => resolve()));
    const queued = batch.run(["away"], []);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(batch.sent()).toBe(false);
    await own.restart();
    expect(await queued).toBe(1); // a restarted server without persistence starts from nothing
    expect(batch.sent()).toBe(true);
  } finally {
    client.disconnect();
    await own.stop();
  }
});

test("fieldArgs lists a record's fields as name, value pairs in order", () => {
  expect(fieldArgs({ status: "queued", attempts: 0, body: Buffer.from("x") })).toEqual([
    "status",
    "queued",
    "attempts",
    0,
    "body",
    Buffer.from("x"),
  ]);
  expect(fieldArgs({})).toEqual([]);
});
