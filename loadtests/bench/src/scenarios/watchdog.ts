import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { timedLoop } from "../latency.js";
import { load, median, type LoadResult } from "../load.js";
import { startAll } from "@ferry/testkit";
import { startTarget, waitHttp, type Target } from "../procs.js";
import type { Row } from "../report.js";
import type { BenchSettings } from "../settings.js";

const BODY = "hello";
const WATCHDOG = "services/watchdog/src/main.ts";

/** Starts a watchdog in the given mode; it logs "watchdog ready" once it serves. */
async function watchdog(env: Record<string, string>): Promise<Target> {
  const t = await startTarget(
    WATCHDOG,
    {
      metrics_port: "0",
      suppress_lock: "true",
      healthcheck_interval: "0s",
      prefix_logs: "false",
      ...env,
    },
    "watchdog ready",
    "port",
  );
  await waitHttp(`${t.url}/_/ready`);
  return t;
}

/**
 * At 1 connection the figures come from a timed request loop (microsecond latency; autocannon
 * reports whole milliseconds), at 50 from autocannon. The median of the runs is by rps.
 */
async function measure(url: string, conns: number, s: BenchSettings): Promise<LoadResult> {
  return median(s.repeats, () =>
    conns === 1
      ? timedLoop({ url, body: BODY, durationSec: s.seconds })
      : load({ url, body: BODY, connections: conns, durationSec: s.seconds }),
  );
}

/** The goals; (c) and (d) are absolute, shown beside the ratio. */
function goalOf(name: string, conns: number): { goal?: string } {
  const key = `${name.split(" ", 1)[0]} ${conns}`;
  if (key === "(b) 50") return { goal: ">= 0.30" };
  if (key === "(c) 50") return { goal: ">= 1,000 ops/s" };
  if (key === "(d) 1") return { goal: "p50 <= 0.250 ms" };
  return {};
}

const POOL_FLOOR_SOURCE = fileURLToPath(new URL("../../native/pool-floor.c", import.meta.url));

/**
 * The floor under goal (d): a pooled `cat` driven by a C parent with no HTTP and no Node
 * (native/pool-floor.c), median of three runs of 300 calls. Undefined without a C compiler.
 */
function poolFloor(): Row | undefined {
  const dir = mkdtempSync(join(tmpdir(), "ferry-floor-"));
  try {
    const bin = join(dir, "pool-floor");
    execFileSync(process.env.CC || "cc", ["-O2", "-o", bin, POOL_FLOOR_SOURCE], { stdio: "pipe" });
    const runs = [0, 1, 2]
      .map(() => execFileSync(bin, ["300"], { encoding: "utf8" }).trim().split(" ").map(Number))
      .sort((a, b) => (a[1] ?? 0) - (b[1] ?? 0));
    const [, p50 = NaN, p99 = NaN] = runs[1] ?? [];
    return {
      group: "watchdog",
      name: "(d0) floor: pooled cat from a C parent, no HTTP",
      rps: 1e6 / p50,
      p50: p50 / 1000,
      p99: p99 / 1000,
      note: "write, close stdin, read stdout to its end, wait for the exit status",
    };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The watchdog issue's table: direct upstream, http mode, fork without and with a warm pool. */
export async function watchdogScenarios(s: BenchSettings): Promise<Row[]> {
  const rows: Row[] = [];
  const upstream = await startTarget("loadtests/bench/src/targets/upstream.ts");
  const targets: Array<[string, () => Promise<Target>]> = [
    [
      "(b) watchdog http mode",
      () => watchdog({ mode: "http", fprocess: "sleep 86400", upstream_url: upstream.url }),
    ],
    [
      "(c) watchdog fork cat, no pool",
      () => watchdog({ mode: "fork", fprocess: "cat", pool_size: "0" }),
    ],
    [
      "(d) watchdog fork cat, pool",
      () => watchdog({ mode: "fork", fprocess: "cat", pool_size: "16" }),
    ],
  ];
  // The same two with Node's spawn (two spawner processes) instead of the native helper, for
  // comparison: what the helper buys, and what a watchdog built without a C compiler does. Left
  // out of --quick, which must stay under a minute, and measured once in a full run, which must
  // stay under ten.
  const once = new Set<string>();
  if (!s.quick) {
    const nodeSpawners: Array<[string, () => Promise<Target>]> = [
      [
        "(c-) fork cat, no pool, Node spawners",
        () => watchdog({ mode: "fork", fprocess: "cat", pool_size: "0", native_spawner: "false" }),
      ],
      [
        "(d-) fork cat, pool, Node spawners",
        () => watchdog({ mode: "fork", fprocess: "cat", pool_size: "16", native_spawner: "false" }),
      ],
    ];
    for (const [name] of nodeSpawners) once.add(name);
    targets.push(...nodeSpawners);
  }

  const floor = poolFloor();
  // Started together, before anything is measured: each start is seconds of compiling.
  const started = await startAll(targets.map(([, start]) => start()));
  const live = new Set(started);
  try {
    const direct: Record<number, LoadResult> = {};
    for (const conns of [1, 50]) {
      direct[conns] = await measure(upstream.url, conns, s);
      rows.push({
        group: "watchdog",
        name: `(a) upstream direct, ${conns} conn`,
        ...(direct[conns] as LoadResult),
      });
    }
    for (const [i, [name]] of targets.entries()) {
      const t = started[i] as Target;
      try {
        for (const conns of [1, 50]) {
          // --quick measures only the rows with a goal, to stay under a minute.
          if (s.quick && !goalOf(name, conns).goal) continue;
          const r = await measure(t.url, conns, once.has(name) ? { ...s, repeats: 1 } : s);
          const base = direct[conns] as LoadResult;
          rows.push({
            group: "watchdog",
            name: `${name}, ${conns} conn`,
            ...r,
            ratio: {
              value: r.rps / base.rps,
              against: "(a)",
              ...goalOf(name, conns),
            },
          });
        }
      } finally {
        live.delete(t);
        await t.stop();
      }
    }
  } finally {
    for (const t of live) await t.stop();
    await upstream.stop();
  }
  if (floor) rows.push(floor);
  return rows;
}
