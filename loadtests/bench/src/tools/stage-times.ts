// Where the time of one call goes, stage by stage, at a low steady rate: accept, queue wait,
// run, callback. Reads the call status the services write, and the sink's receive time.
//   node --import tsx --conditions=@ferry/source loadtests/bench/src/tools/stage-times.ts [calls] [rate]
import { createServer } from "node:http";
import { createLogger, sleep } from "@ferry/runtime";
import { startHttpSink, startNats, startRedis } from "@ferry/testkit";
import { startStack } from "@ferry/ferry";

const [calls = 200, rate = 100] = process.argv.slice(2).map(Number);
const logger = createLogger({ name: "stages", level: "warn" });
const nats = await startNats();
const redis = await startRedis();
const sink = await startHttpSink();
const upstream = createServer((req, res) => req.resume().on("end", () => res.end("ok")));
await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
const port = (upstream.address() as { port: number }).port;
const stack = await startStack({
  natsUrl: nats.url,
  redisUrl: redis.url,
  logger,
  port: 0,
  callbackAllowlist: ["127.0.0.1"],
});
await stack.registry.put({ name: "fn", url: `http://127.0.0.1:${port}` });
await sleep(300);

const sent = new Map<string, number>();
for (let i = 0; i < calls; i++) {
  const t0 = Date.now();
  const res = await fetch(`${stack.gatewayUrl}/async-function/fn`, {
    method: "POST",
    headers: { "x-callback-url": `${sink.url}/cb` },
    body: "x",
  });
  sent.set(res.headers.get("x-call-id") ?? "", t0);
  await sleep(1000 / rate);
}
await sink.waitFor(calls, { timeoutMs: 60_000 });
const stages: Record<string, number[]> = {
  accept: [],
  queueWait: [],
  run: [],
  toCallback: [],
  total: [],
};
for (const r of sink.requests) {
  const id = String(r.headers["x-call-id"]);
  const st = (await (
    await fetch(`${stack.gatewayUrl}/async-function/status/${id}`)
  ).json()) as Record<string, string>;
  const enq = Date.parse(st.enqueuedAt ?? ""),
    start = Date.parse(st.startedAt ?? ""),
    fin = Date.parse(st.finishedAt ?? "");
  stages.accept!.push(enq - (sent.get(id) ?? enq));
  stages.queueWait!.push(start - enq);
  stages.run!.push(fin - start);
  stages.toCallback!.push(r.receivedAt - fin);
  stages.total!.push(r.receivedAt - enq);
}
const p = (xs: number[], q: number): number =>
  xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)] ?? NaN;
for (const [name, xs] of Object.entries(stages)) {
  process.stdout.write(
    `${name.padEnd(11)} p50 ${p(xs, 0.5)} ms  p90 ${p(xs, 0.9)} ms  max ${p(xs, 1)} ms\n`,
  );
}
await stack.stop();
upstream.close();
await Promise.all([nats.stop(), redis.stop(), sink.close()]);
process.exit(0);
