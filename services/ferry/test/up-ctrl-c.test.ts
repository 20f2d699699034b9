import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { freePort } from "@ferry/runtime";
import { listening, spawnTs } from "@ferry/testkit";

// Ctrl-C in a terminal signals the whole foreground process group, not only `ferry up`: the
// servers and replicas it started must not die under it before it has drained.
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("ferry up and Ctrl-C", () => {
  test("SIGINT to the process group - drains, stops its servers and replicas, and exits 0", async () => {
    dir = await mkdtemp(join(tmpdir(), "ferry-ctrl-c-"));
    const file = join(dir, "functions.yaml");
    await writeFile(
      file,
      "version: 1\nfunctions:\n  cat:\n    watchdog:\n      fprocess: cat\n      mode: fork\n",
    );
    await mkdir(join(dir, "connectors"));
    const port = await freePort();
    // Addresses nothing answers at: it starts nats-server and redis-server itself.
    const [natsPort, redisPort] = [await freePort(), await freePort()];
    const ferry = spawnTs("services/ferry/src/main.ts", {
      args: [
        "up",
        ...["-f", file, "-p", String(port), "--data-dir", join(dir, "data"), "--no-ui"],
        // No connectors (an empty folder): the default would pick up the examples.
        ...["--connectors", join(dir, "connectors")],
      ],
      env: {
        NATS_URL: `nats://127.0.0.1:${natsPort}`,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        LOG_LEVEL: "info",
      },
      // Its own process group, as a terminal's foreground job is.
      detached: true,
    });
    const { child } = ferry;
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    try {
      await ferry.waitForOutput('"msg":"function ready"', 30_000);
      const res = await fetch(`http://127.0.0.1:${port}/function/cat`, {
        method: "POST",
        body: "meow",
      });
      expect(await res.text()).toBe("meow");
      const ports = [
        ...ferry
          .output()
          .matchAll(/"port":(\d+)[^\n]*"msg":"(?:started (?:nats|redis)-server|function ready)"/g),
      ].map((m) => Number(m[1]));
      expect(ports).toHaveLength(3);

      process.kill(-(child.pid ?? 0), "SIGINT");
      expect(await exited).toBe(0);
      const out = ferry.output();
      expect(out).toMatch(/"msg":"stopped"/);
      expect(out).not.toMatch(/replacing it/);
      expect(out).not.toMatch(/deadline passed/);
      for (const p of ports) expect(await listening(p)).toBe(false);
    } finally {
      if (child.exitCode === null) process.kill(-(child.pid ?? 0), "SIGKILL");
    }
  });
});
