// CPU time per call of each process while a backlog of calls drains to the callback sink: where
// the end-to-end throughput goes. Every process runs as it is deployed (its own entry).
//   node --import tsx --conditions=@ferry/source loadtests/bench/src/tools/cpu-per-call.ts \
//     [calls] [profile dir] [--workers N] [--minimal]
// With a profile dir, each Ferry process also writes a V8 CPU profile there when it stops.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { cpuMicros, startTarget } from "../procs.js";
import { startBack, startMinimalWorkers, startToolStack } from "../scenarios/ferry.js";
import { benchArgs } from "../settings.js";
import { drain, sinkStats } from "../sink.js";

const { workers: workerCount = 1, positional, flags } = benchArgs(process.argv.slice(2));
// --minimal: the same measurement of the baselines, the minimal gateway and minimal workers.
const minimal = flags.has("--minimal");
const [callsArg, profileDir] = positional;
const calls = Number(callsArg ?? 6000);

/** The pid listening on a loopback port (servers started by testkit are not our children). */
function listenerPid(port: number): number {
  const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`]).toString();
  return Number(/pid=(\d+)/.exec(out)?.[1]);
}

/** Read and write syscalls of a process so far (`syscr`, `syscw` of /proc/<pid>/io). */
function syscalls(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)`, "m").exec(io)?.[1]);
  return { reads: field("syscr"), writes: field("syscw") };
}

/**
 * Takes each process's CPU time and syscall counts now; `report(calls)` prints what each used
 * since, per call (CPU µs, and read and write syscalls: a socket write or read is one each), and
 * the CPU total.
 */
function cpuMeter(pids: Record<string, number>): { report: (calls: number) => void } {
  const before = Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [k, { cpu: cpuMicros(pid), io: syscalls(pid) }]),
  );
  return {
    report(count) {
      let total = 0;
      const n = Math.max(1, count);
      for (const [name, pid] of Object.entries(pids)) {
        const was = before[name];
        const us = Math.round((cpuMicros(pid) - (was?.cpu ?? 0)) / n);
        const io = syscalls(pid);
        const reads = ((io.reads - (was?.io.reads ?? 0)) / n).toFixed(2);
        const writes = ((io.writes - (was?.io.writes ?? 0)) / n).toFixed(2);
        total += us;
        process.stdout.write(
          `  ${name.padEnd(13)} ${String(us).padStart(5)} µs/call  ` +
            `${reads.padStart(6)} reads ${writes.padStart(6)} writes/call\n`,
        );
      }
      process.stdout.write(`  ${"total".padEnd(13)} ${String(total).padStart(5)} µs/call; `);
    },
  };
}

const stack = await startToolStack(profileDir);
const { nats, redis, ferry } = stack;

// The backlog first, then the workers. Both are measured: accepting the backlog (the gateway's
// side of each call) and draining it (everything after the 202).
const gateway = minimal
  ? await startTarget("loadtests/bench/src/targets/minimal-gateway.ts", { NATS_URL: nats.url })
  : ferry.gateway;
const acceptCpu = cpuMeter({
  [minimal ? "min. gateway" : "gateway"]: gateway.proc.child.pid ?? 0,
  "nats-server": listenerPid(nats.port),
  "redis-server": listenerPid(redis.port),
});
const acceptStart = Date.now();
await autocannon({
  url: minimal ? gateway.url : `${gateway.url}/async-function/bench`,
  method: "POST",
  body: "x".repeat(1024),
  headers: { "content-type": "text/plain", "x-callback-url": `${ferry.sink.url}/cb` },
  connections: 50,
  amount: calls,
});
process.stdout.write("accept\n");
acceptCpu.report(calls);
if (minimal) await gateway.stop();
process.stdout.write(
  `${Math.round((calls * 1000) / (Date.now() - acceptStart))} 202/s (50 conns)\n`,
);
process.stdout.write("drain\n");
// Minimal workers are stopped with Ferry's targets at the end.
const minimalWorkers = minimal ? await startMinimalWorkers(ferry, workerCount) : [];
ferry.targets.unshift(...minimalWorkers);
const { workers, callbacks } = minimal
  ? { workers: minimalWorkers, callbacks: undefined }
  : await startBack(ferry, workerCount);
const { fn, upstream, sink } = ferry;
const drainCpu = cpuMeter({
  ...Object.fromEntries(
    workers.map((w, i) => [`worker${workers.length > 1 ? i + 1 : ""}`, w.proc.child.pid ?? 0]),
  ),
  ...(callbacks ? { callbacks: callbacks.proc.child.pid ?? 0 } : {}),
  watchdog: fn.proc.child.pid ?? 0,
  upstream: upstream.proc.child.pid ?? 0,
  sink: sink.proc.child.pid ?? 0,
  "nats-server": listenerPid(nats.port),
  "redis-server": listenerPid(redis.port),
});
// The first worker drains while the others start: only what arrives from here on is counted,
// against the CPU used from here on.
const t0 = Date.now();
const before = (await sinkStats(sink.url)).unique;
const { unique: seen, lastAt } = await drain(sink.url, calls);
drainCpu.report(seen - before);
const rate = Math.round((seen - before) / ((lastAt - t0) / 1000));
process.stdout.write(`${seen}/${calls} callbacks, the last ${seen - before} at ${rate}/s\n`);

await stack.stop();
process.exit(0);
