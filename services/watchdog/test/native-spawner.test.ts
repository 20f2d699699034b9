import { describe, expect, test } from "vitest";
import { createLogger } from "@ferry/runtime";
import { createNativeStarter, nativeSpawnerBuilt } from "../src/internal/native-spawner.js";
import { createFunctionOutput } from "../src/internal/output.js";
import type { FunctionProcess } from "../src/internal/process.js";
import { createLocalStarter } from "../src/internal/spawner.js";
import {
  alive,
  childrenOf,
  eventually,
  parentOf,
  spawnWatchdog,
  startInProcess,
  upstreamEnv,
  upstreamPid,
} from "./helpers.js";

const helperOf = (parent: number): number[] =>
  childrenOf(parent, (args) => args.includes("ferry-spawn "));

describe("native spawner", () => {
  test("native spawner - is built, and starts fork-mode processes unless native_spawner=false", async () => {
    // npm ci builds it wherever a C compiler exists, as on every machine the tests run on.
    expect(nativeSpawnerBuilt()).toBe(true);
    const parentOf = async (env: Record<string, string>): Promise<string> => {
      await using wd = await startInProcess({
        mode: "fork",
        fprocess: "sh -c 'cat >/dev/null; cat /proc/$PPID/comm'",
        ...env,
      });
      return (await fetch(`${wd.url}/`, { method: "POST", body: "x" })).text();
    };
    expect(await parentOf({})).toBe("ferry-spawn\n");
    expect(await parentOf({ native_spawner: "false" })).not.toBe("ferry-spawn\n");
    expect(await parentOf({ native_spawner: "false", spawners: "0" })).not.toBe("ferry-spawn\n");
  });

  test("native spawner - a request's Http_ variable replaces a base variable of the same name", async () => {
    await using wd = await startInProcess({
      mode: "fork",
      fprocess: "sh -c 'env | grep -E \"^(Http_X_Marker|BASE_ONLY)=\" | sort'",
      Http_X_Marker: "from-base",
      BASE_ONLY: "kept",
    });
    const text = await (
      await fetch(`${wd.url}/`, { headers: { "x-marker": "from-request" } })
    ).text();
    expect(text).toBe("BASE_ONLY=kept\nHttp_X_Marker=from-request\n");
  });

  test("native spawner - calls go on through the Node spawners when the helper dies", async () => {
    await using wd = await startInProcess({ mode: "fork", fprocess: "tr a-z A-Z" });
    const call = async (): Promise<string> =>
      (await fetch(`${wd.url}/`, { method: "POST", body: "abc" })).text();
    expect(await call()).toBe("ABC");
    const [helper] = helperOf(process.pid);
    expect(helper).toBeDefined();
    process.kill(helper as number, "SIGKILL");
    await eventually(() => !alive(helper as number), "the helper to die");
    for (let i = 0; i < 5; i++) expect(await call()).toBe("ABC");
  });

  test("native spawner - a watchdog killed outright takes the helper and pooled processes along", async () => {
    const wd = await spawnWatchdog({ mode: "fork", fprocess: "sleep 3600", pool_size: "4" });
    try {
      const watchdogPid = wd.child.pid as number;
      let helper: number | undefined;
      let pooled: number[] = [];
      await eventually(() => {
        helper = helperOf(watchdogPid)[0];
        pooled = helper === undefined ? [] : childrenOf(helper, (args) => args === "sleep 3600");
        return pooled.length === 4;
      }, "the helper and four pooled processes");
      wd.child.kill("SIGKILL");
      await wd.exited;
      await eventually(
        () => [helper as number, ...pooled].every((pid) => !alive(pid)),
        "the helper and the pooled processes to go",
      );
    } finally {
      // A failed wait must not leave the watchdog and its processes running after the test.
      wd.child.kill("SIGKILL");
    }
  });

  test("native spawner - http mode: the function starts through the helper, and stop ends both", async () => {
    await using wd = await startInProcess(await upstreamEnv());
    const [helper] = helperOf(process.pid);
    const fn = await upstreamPid(wd.url);
    expect(helper).toBeDefined();
    expect(parentOf(fn)).toBe(helper);
    await wd.watchdog.stop();
    expect(alive(fn)).toBe(false);
    expect(alive(helper as number)).toBe(false);
  });

  test("native spawner - http mode: when the helper dies the function is restarted from the watchdog", async () => {
    await using wd = await startInProcess(await upstreamEnv());
    const [helper] = helperOf(process.pid);
    const first = await upstreamPid(wd.url);
    process.kill(helper as number, "SIGKILL");
    await eventually(() => !alive(first), "the helper's function to be killed");
    let restarted = 0;
    await eventually(async () => (restarted = await upstreamPid(wd.url)) > 0, "the restart");
    expect(restarted).not.toBe(first);
    expect(parentOf(restarted)).toBe(process.pid);
  });

  test("native spawner - a helper that cannot start leaves processes to the fallback", async () => {
    const logger = createLogger({ name: "test", level: "silent" });
    const opts = {
      command: { file: "sh", args: ["-c", "echo started-by-fallback"] },
      env: process.env,
      output: createFunctionOutput({ logger, prefixLogs: true, maxLineBytes: 1024, raw: () => {} }),
      live: new Set<FunctionProcess>(),
      logger,
    };
    const starter = createNativeStarter({
      ...opts,
      fallback: createLocalStarter(opts),
      path: "/nonexistent/ferry-spawn",
    });
    await starter.open();
    try {
      const proc = await new Promise<FunctionProcess>((resolve) =>
        starter.start(undefined, resolve),
      );
      const chunks: Buffer[] = [];
      proc.stdout().on("data", (c: Buffer) => chunks.push(c));
      proc.stdin.end();
      expect(await proc.exited).toEqual({ code: 0, signal: null });
      expect(Buffer.concat(chunks).toString()).toBe("started-by-fallback\n");
    } finally {
      await starter.close();
    }
  });
});
