import { describe, expect, test } from "vitest";
import { alive, childrenOf, eventually, spawnWatchdog, startInProcess } from "./helpers.js";

/** Pids of the spawner processes whose parent is `parent`. */
const spawnersOf = (parent: number): number[] =>
  childrenOf(parent, (args) => args.includes(" -e ") && args.includes("node:child_process"));

/** Pids of the children of `parent` running `command` exactly. */
const childrenRunning = (parent: number, command: string): number[] =>
  childrenOf(parent, (args) => args.trim().split(/\s+/).join(" ") === command);

describe("spawners", () => {
  test("spawners - with spawners=0 the watchdog forks itself, with and without a pool", async () => {
    for (const pool_size of ["0", "3"]) {
      await using wd = await startInProcess({
        mode: "fork",
        fprocess: "sh -c 'cat; echo $$'",
        spawners: "0",
        native_spawner: "false",
        pool_size,
      });
      expect(spawnersOf(process.pid)).toEqual([]);
      const pids = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const text = await (await fetch(`${wd.url}/`, { method: "POST", body: "in:" })).text();
        expect(text).toMatch(/^in:\d+\n$/);
        pids.add(text);
      }
      expect(pids.size).toBe(10);
    }
  });

  test("spawners - calls go on when spawners die: the others, then local spawns", async () => {
    await using wd = await startInProcess({
      mode: "fork",
      fprocess: "tr a-z A-Z",
      spawners: "2",
      native_spawner: "false",
    });
    const call = async (): Promise<string> =>
      (await fetch(`${wd.url}/`, { method: "POST", body: "abc" })).text();
    expect(await call()).toBe("ABC");
    const helpers = spawnersOf(process.pid);
    expect(helpers).toHaveLength(2);
    process.kill(helpers[0] as number, "SIGKILL");
    await eventually(() => !alive(helpers[0] as number), "the first spawner to die");
    for (let i = 0; i < 4; i++) expect(await call()).toBe("ABC");
    process.kill(helpers[1] as number, "SIGKILL");
    await eventually(() => !alive(helpers[1] as number), "the second spawner to die");
    for (let i = 0; i < 4; i++) expect(await call()).toBe("ABC");
  });

  test("spawners - a watchdog killed outright takes its spawners and pooled processes along", async () => {
    const wd = await spawnWatchdog({
      mode: "fork",
      fprocess: "sleep 3600",
      pool_size: "4",
      spawners: "2",
      native_spawner: "false",
    });
    try {
      const watchdogPid = wd.child.pid as number;
      let helpers: number[] = [];
      let pooled: number[] = [];
      await eventually(() => {
        helpers = spawnersOf(watchdogPid);
        pooled = helpers.flatMap((pid) => childrenRunning(pid, "sleep 3600"));
        return helpers.length === 2 && pooled.length === 4;
      }, "two spawners and four pooled processes");
      wd.child.kill("SIGKILL");
      await wd.exited;
      await eventually(
        () => [...helpers, ...pooled].every((pid) => !alive(pid)),
        "spawners and pooled processes to go",
      );
    } finally {
      // A failed wait must not leave the watchdog and its processes running after the test.
      wd.child.kill("SIGKILL");
    }
  });
});
