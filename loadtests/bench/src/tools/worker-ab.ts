// Worker CPU per call of two variants measured at the same time: both drain the same backlog as
// competing consumers, so whatever the machine does meanwhile (a noisy VM's figures drift by 20 %
// within minutes) weighs on both alike. A variant is a checkout (its own node_modules), Node
// flags and extra environment (./ab.ts); A defaults to this checkout.
//   node --import tsx --conditions=@ferry/source loadtests/bench/src/tools/worker-ab.ts \
//     [calls] [--rounds N] [--a DIR] [--b DIR] [--a-node "FLAGS"] [--b-node "FLAGS"] \
//     [--a-env "K=V …"] [--b-env "K=V …"]
// e.g. B = the previous commit: git worktree add ../base HEAD~1 && cp -a node_modules ../base/
import { resolve } from "node:path";
import autocannon from "autocannon";
import { startAll } from "@ferry/testkit";
import { cpuMicros, startTarget, type Target } from "../procs.js";
import { startToolStack } from "../scenarios/ferry.js";
import { abArgs } from "./ab.js";
import { drain, resetSink } from "../sink.js";

const { rounds, variants, positional } = abArgs(process.argv.slice(2));
const calls = Number(positional[0] ?? 20000);

/** Calls a worker finished so far, from its metrics. */
async function processed(worker: Target): Promise<number> {
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^queue_worker_messages_processed_total\{[^}]*\} (\d+)/gm)) {
    sum += Number(m[1]);
  }
  return sum;
}

const stack = await startToolStack();
const { ferry } = stack;

const ratios: number[] = [];
for (let round = 1; round <= rounds; round++) {
  await resetSink(ferry.sink.url);
  await autocannon({
    url: `${ferry.gateway.url}/async-function/bench`,
    method: "POST",
    body: "x".repeat(1024),
    headers: { "content-type": "text/plain", "x-callback-url": `${ferry.sink.url}/cb` },
    connections: 50,
    amount: calls,
  });
  const workers = await startAll(
    variants.map((v) =>
      startTarget(
        resolve(v.dir, "services/queue-worker/src/main.ts"),
        { ...ferry.common, MAX_INFLIGHT: "256", ...v.env },
        { path: "/readyz" },
        "HEALTH_PORT",
        v.nodeArgs,
      ),
    ),
  );
  // From when both are ready: what each used, for the calls each finished.
  const before = await Promise.all(
    workers.map(async (w) => ({ cpu: cpuMicros(w.proc.child.pid ?? 0), n: await processed(w) })),
  );
  await drain(ferry.sink.url, calls);
  const perCall = await Promise.all(
    workers.map(async (w, i) => {
      const n = (await processed(w)) - (before[i]?.n ?? 0);
      const cpu = cpuMicros(w.proc.child.pid ?? 0) - (before[i]?.cpu ?? 0);
      return { n, us: cpu / Math.max(1, n) };
    }),
  );
  for (const w of workers) await w.stop();
  const [a, b] = perCall as [{ n: number; us: number }, { n: number; us: number }];
  ratios.push(b.us / a.us);
  process.stdout.write(
    `round ${round}: A ${a.us.toFixed(0)} µs/call (${a.n} calls), ` +
      `B ${b.us.toFixed(0)} µs/call (${b.n} calls), B/A ${(b.us / a.us).toFixed(3)}\n`,
  );
}
const sorted = [...ratios].sort((x, y) => x - y);
process.stdout.write(
  `B/A median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(3)} over ${rounds} rounds ` +
    `(A: ${variants[0]?.dir} ${variants[0]?.nodeArgs.join(" ")}; ` +
    `B: ${variants[1]?.dir} ${variants[1]?.nodeArgs.join(" ")})\n`,
);
await stack.stop();
process.exit(0);
