// Accept → callback latency of Ferry (or of the minimal path) at given paces, with the medians of
// Ferry's stages: where the time of one call goes, and how it grows with the load.
//   node --import tsx --conditions=@ferry/source loadtests/bench/src/tools/latency-at.ts \
//     RATE [RATE…] [--seconds S] [--workers N] [--minimal]
import { sleep } from "@ferry/runtime";
import { paced } from "../paced.js";
import { startTarget } from "../procs.js";
import { startBack, startMinimalWorkers, startToolStack } from "../scenarios/ferry.js";
import { benchArgs, defaultWorkers } from "../settings.js";
import { drain, resetSink } from "../sink.js";
import { stageMedians } from "../stages.js";

const argv = process.argv.slice(2);
const at = argv.indexOf("--seconds");
const seconds = at >= 0 ? Number(argv.splice(at, 2)[1]) : 5;
const { workers: workerCount = defaultWorkers(), positional, flags } = benchArgs(argv);
const minimal = flags.has("--minimal");
const rates = positional.map(Number);
if (rates.length === 0 || rates.some((r) => !(r > 0))) {
  throw new Error("usage: latency-at RATE [RATE…] [--seconds S] [--workers N] [--minimal]");
}

const stack = await startToolStack();
const { nats, redis, ferry } = stack;
if (minimal) {
  ferry.targets.unshift(
    await startTarget("loadtests/bench/src/targets/minimal-gateway.ts", { NATS_URL: nats.url }),
    ...(await startMinimalWorkers(ferry, workerCount)),
  );
} else await startBack(ferry, workerCount);
await sleep(1000);
const url = minimal ? (ferry.targets[0]?.url ?? "") : `${ferry.gateway.url}/async-function/bench`;

for (const rate of rates) {
  await resetSink(ferry.sink.url);
  const since = Date.now();
  const run = await paced({
    url,
    body: "x".repeat(1024),
    headers: { "content-type": "text/plain", "x-callback-url": `${ferry.sink.url}/cb` },
    connections: 50,
    durationSec: seconds,
    rate,
  });
  const st = await drain(ferry.sink.url, run.total - run.errors, 5_000);
  const stages = minimal ? undefined : await stageMedians(redis.url, since);
  process.stdout.write(
    `${String(rate).padStart(5)}/s  p50 ${st.p50Ms?.toFixed(2)} ms  p99 ${st.p99Ms?.toFixed(2)} ms` +
      `  accept p50 ${run.p50.toFixed(2)} ms` +
      (stages ? `  stages ${stages.queue}/${stages.run}/${stages.callback} ms` : "") +
      `  (${st.unique}/${run.total})\n`,
  );
}
await stack.stop();
process.exit(0);
