// What the security hooks cost the accept path of an `auth: none` function: the same gateway on
// the same NATS and Redis open, with operator credentials, and with a per-client rate limit (one
// Redis round trip per call), rounds interleaved. Prints latency percentiles and throughput.
// Run: node --import tsx --conditions=@ferry/source services/gateway/test/security-cost.bench.ts
import { jetstreamManager } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import { createLogger } from "@ferry/runtime";
import { connectNats, openFunctionRegistry, provisionStreams } from "@ferry/jetstream";
import { startNats, startRedis } from "@ferry/testkit";
import { createGateway } from "../src/index.js";

const ROUNDS = 4;
const PER_ROUND = Number(process.env.BENCH_CALLS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const logger = createLogger({ name: "bench", level: "silent" });

const [nats, redisServer] = await Promise.all([startNats(), startRedis()]);
const nc = await connectNats({ servers: nats.url, name: "bench", logger });
await provisionStreams(await jetstreamManager(nc));
const registry = await openFunctionRegistry(nc, { logger });
await registry.put({
  name: "fn",
  queue: "default",
  url: "http://127.0.0.1:9",
  env: {},
  timeout: 1000,
});
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
const base = {
  nc,
  registry,
  logger,
  redis,
  maxBodyBytes: 1024 * 1024,
  callbackAllowlist: ["127.0.0.1"],
};
const auth = { tokens: ["bench-token"], users: [{ user: "admin", password: "bench" }] };
const gateways = {
  open: await createGateway(base),
  "operator auth": await createGateway({ ...base, auth }),
  "auth + client limit": await createGateway({
    ...base,
    auth,
    rateLimit: { max: 1_000_000_000, windowMs: 60_000 },
  }),
};
const urls: Record<string, string> = {};
for (const [name, g] of Object.entries(gateways)) {
  urls[name] = `http://127.0.0.1:${await g.listen(0, "127.0.0.1")}`;
}

async function round(url: string): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next++ < PER_ROUND) {
      const t = performance.now();
      const res = await fetch(`${url}/async-function/fn`, { method: "POST", body: "x" });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`status ${res.status}`);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

const results = new Map<string, { latencies: number[]; seconds: number }>();
for (const url of Object.values(urls)) await round(url); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, url] of Object.entries(urls)) {
    const out = await round(url);
    const acc = results.get(name) ?? { latencies: [], seconds: 0 };
    acc.latencies.push(...out.latencies);
    acc.seconds += out.seconds;
    results.set(name, acc);
  }
}
const pct = (xs: number[], p: number): string =>
  (xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0).toFixed(2);
for (const [name, { latencies, seconds }] of results) {
  latencies.sort((a, b) => a - b);
  process.stdout.write(
    `${name.padEnd(20)} ${latencies.length} calls, concurrency ${CONCURRENCY}: ` +
      `${Math.round(latencies.length / seconds)} calls/s, p50 ${pct(latencies, 0.5)} ms, ` +
      `p90 ${pct(latencies, 0.9)} ms, p99 ${pct(latencies, 0.99)} ms\n`,
  );
}
for (const g of Object.values(gateways)) await g.close();
await registry.close();
await nc.drain();
await redis.quit();
await Promise.all([nats.stop(), redisServer.stop()]);
