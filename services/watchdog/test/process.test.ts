import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  alive,
  eventually,
  fixture,
  freePort,
  parentOf,
  runWatchdogToExit,
  spawnWatchdog,
  upstreamEnv,
  upstreamPid,
} from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "watchdog-process-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("process", () => {
  test("process - SIGTERM fails health, completes calls in flight, stops the function and exits 0", async () => {
    const upstreamPort = await freePort();
    const lockFile = join(dir, "lock");
    await using wd = await spawnWatchdog({
      mode: "http",
      fprocess: `node ${fixture("upstream.mjs")}`,
      upstream_url: `http://127.0.0.1:${upstreamPort}`,
      PORT: String(upstreamPort),
      suppress_lock: "false",
      lock_file: lockFile,
      healthcheck_interval: "300ms",
    });
    expect(existsSync(lockFile)).toBe(true);
    const pid = Number((await fetch(`${wd.url}/pid`)).headers.get("x-upstream-pid"));
    const inflight = fetch(`${wd.url}/slow?ms=1500`);
    await eventually(
      () => wd.output().includes("slow call started"),
      "the call to reach the function",
    );
    wd.child.kill("SIGTERM");
    await eventually(
      async () => (await fetch(`${wd.url}/_/health`)).status === 503,
      "health to fail",
    );
    expect(existsSync(lockFile)).toBe(false);
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("slow done");
    expect(await wd.exited).toBe(0);
    expect(alive(pid)).toBe(false);
  });

  test("process - a watchdog killed outright takes its http-mode function and the function's helpers along", async () => {
    const wd = await spawnWatchdog(await upstreamEnv());
    const pids: number[] = [];
    try {
      pids.push(await upstreamPid(wd.url));
      pids.push(Number(await (await fetch(`${wd.url}/helper`)).text()));
      expect(pids.every((pid) => pid > 1 && alive(pid))).toBe(true);
      wd.child.kill("SIGKILL");
      await wd.exited;
      await eventually(
        () => pids.every((pid) => !alive(pid)),
        "the function process and its helper to go",
        30_000,
      );
    } finally {
      // A failed wait must not leave the watchdog or the function's group running after the test.
      wd.child.kill("SIGKILL");
      if (pids[0] !== undefined && alive(pids[0])) process.kill(-pids[0], "SIGKILL");
    }
  });

  test("process - with native_spawner=false the http-mode function starts from the watchdog, which says once that it is not tied to its life", async () => {
    await using wd = await spawnWatchdog(await upstreamEnv({ native_spawner: "false" }));
    const first = await upstreamPid(wd.url);
    expect(parentOf(first)).toBe(wd.child.pid);
    await (await fetch(`${wd.url}/crash`)).arrayBuffer();
    let restarted = 0;
    await eventually(async () => (restarted = await upstreamPid(wd.url)) > 0, "the restart");
    expect(restarted).not.toBe(first);
    expect(parentOf(restarted)).toBe(wd.child.pid);
    expect(wd.output().match(/not tied to the watchdog's life/g)).toHaveLength(1);
  });

  test("process - fork mode drains calls in flight on SIGTERM", async () => {
    await using wd = await spawnWatchdog({
      mode: "fork",
      fprocess: "sh -c 'sleep 0.5; echo finished'",
    });
    const inflight = fetch(`${wd.url}/`);
    await eventually(() => /"pid":\d+/.test(wd.output()) || true, "the call");
    await new Promise((resolve) => setTimeout(resolve, 100));
    wd.child.kill("SIGTERM");
    const res = await inflight;
    expect(await res.text()).toBe("finished\n");
    expect(await wd.exited).toBe(0);
  });

  test("process - the ready line carries port and metricsPort", async () => {
    await using wd = await spawnWatchdog({ mode: "fork", fprocess: "cat", metrics_port: "0" });
    const line = wd
      .output()
      .split("\n")
      .find((l) => l.includes('"msg":"watchdog ready"')) as string;
    const ready = JSON.parse(line) as { port: number; metricsPort: number };
    expect(wd.url).toBe(`http://127.0.0.1:${ready.port}`);
    expect((await fetch(`http://127.0.0.1:${ready.metricsPort}/metrics`)).status).toBe(200);
    expect((await fetch(`${wd.url}/_/ready`)).status).toBe(200);
  });

  test("config - bad values exit 1 naming the variable and the reason", async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { mode: "fork", fprocess: "cat", port: "not-a-port" },
        /^watchdog: invalid configuration: port: /m,
      ],
      [{ mode: "turbo", fprocess: "cat" }, /^watchdog: invalid configuration: mode: /m],
      [
        { mode: "fork", fprocess: "cat", exec_timeout: "soon" },
        /^watchdog: invalid configuration: exec_timeout: not a duration/m,
      ],
      [
        { mode: "http", fprocess: "node x.js" },
        /^watchdog: invalid configuration: upstream_url: required in http mode/m,
      ],
      [{ mode: "fork" }, /^watchdog: invalid configuration: fprocess: required in fork mode/m],
      [
        { mode: "fork", fprocess: "cat", suppress_lock: "maybe" },
        /^watchdog: invalid configuration: suppress_lock: not a boolean/m,
      ],
    ];
    const results = await Promise.all(cases.map(([env]) => runWatchdogToExit(env)));
    results.forEach(({ code, stderr }, i) => {
      expect(code).toBe(1);
      expect(stderr).toMatch((cases[i] as [unknown, RegExp])[1]);
    });
  });

  test("process - an fprocess that cannot start in http mode exits 1", async () => {
    const { code } = await runWatchdogToExit({
      mode: "http",
      fprocess: "/nonexistent/function-server",
      upstream_url: `http://127.0.0.1:${await freePort()}`,
    });
    expect(code).toBe(1);
  });
});
