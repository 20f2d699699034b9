// Gateway CPU per accepted call of two variants measured at the same time: both take async calls
// for the same function from their own load generator, side by side, so whatever the machine does
// meanwhile weighs on both alike. A variant is a checkout (its own node_modules), Node flags and
// extra environment (./ab.ts); A defaults to this checkout.
//   node --import tsx --conditions=@ferry/source loadtests/bench/src/tools/gateway-ab.ts \
//     [seconds] [--rounds N] [--a DIR] [--b DIR] [--a-node "FLAGS"] [--b-node "FLAGS"] \
//     [--a-env "K=V …"] [--b-env "K=V …"]
// e.g. B = the previous commit: git worktree add ../base HEAD~1 && cp -a node_modules ../base/
import { resolve } from "node:path";
import { randomBytes } from "node:crypto";
import autocannon from "autocannon";
import { jetstreamManager } from "@nats-io/jetstream";
import { startAll } from "@ferry/testkit";
import { cpuMicros, startTarget, type Target } from "../procs.js";
import { startToolStack } from "../scenarios/ferry.js";
import { abArgs } from "./ab.js";

const { rounds, variants, positional } = abArgs(process.argv.slice(2));
const seconds = Number(positional[0] ?? 10);

const stack = await startToolStack();
const { ferry, nc } = stack;
const gateways = await startAll(
  variants.map((v) =>
    startTarget(
      resolve(v.dir, "services/gateway/src/main.ts"),
      { ...ferry.common, AUTH_TOKENS: randomBytes(16).toString("hex"), ...v.env },
      { path: "/readyz" },
      "PORT",
      v.nodeArgs,
    ),
  ),
);
const jsm = await jetstreamManager(nc);

interface PerCall {
  calls: number;
  us: number;
}

/** Both gateways under the same load at once; 202s and CPU of each. */
async function both(durationSec: number): Promise<PerCall[]> {
  const before = gateways.map((g: Target) => cpuMicros(g.proc.child.pid ?? 0));
  const results = await Promise.all(
    gateways.map((g) =>
      autocannon({
        url: `${g.url}/async-function/bench`,
        method: "POST",
        body: "x".repeat(1024),
        headers: { "content-type": "text/plain", "x-callback-url": `${ferry.sink.url}/cb` },
        connections: 25,
        duration: durationSec,
      }),
    ),
  );
  return gateways.map((g, i) => {
    const calls = results[i]?.["2xx"] ?? 0;
    const cpu = cpuMicros(g.proc.child.pid ?? 0) - (before[i] ?? 0);
    return { calls, us: cpu / Math.max(1, calls) };
  });
}

/** Nothing consumes the queue here: empty it between rounds. */
async function purge(): Promise<void> {
  for await (const name of jsm.streams.names()) await jsm.streams.purge(name);
}

await both(Math.min(3, seconds)); // the JIT's warm-up
const ratios: number[] = [];
for (let round = 1; round <= rounds; round++) {
  await purge();
  const [a, b] = (await both(seconds)) as [PerCall, PerCall];
  ratios.push(b.us / a.us);
  process.stdout.write(
    `round ${round}: A ${a.us.toFixed(0)} µs/call (${a.calls} 202s), ` +
      `B ${b.us.toFixed(0)} µs/call (${b.calls} 202s), B/A ${(b.us / a.us).toFixed(3)}\n`,
  );
}
const sorted = [...ratios].sort((x, y) => x - y);
process.stdout.write(
  `B/A median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(3)} over ${rounds} rounds\n`,
);
for (const g of gateways) await g.stop();
await stack.stop();
process.exit(0);
