import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { spawnWatchdog, startInProcess } from "./helpers.js";

const FIFTY_MB = 50 * 1024 * 1024;

/** Peak resident set (VmHWM) of a process, in bytes. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1]) * 1024;
}

describe("stream mode", () => {
  test("stream mode - stdout reaches the client as it is written", async () => {
    await using wd = await startInProcess({
      mode: "streaming",
      fprocess: "sh -c 'echo first; sleep 0.3; echo second'",
    });
    const res = await fetch(`${wd.url}/`);
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("first\n");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("second\n");
    expect((await reader.read()).done).toBe(true);
  });

  test.skipIf(!existsSync("/proc/self/status"))(
    "stream mode - 50 MB of output streams through without being held in memory",
    async () => {
      await using wd = await spawnWatchdog({
        mode: "stream",
        fprocess: `head -c ${FIFTY_MB} /dev/zero`,
      });
      const pid = wd.child.pid as number;
      await (await fetch(`${wd.url}/`)).arrayBuffer(); // warm up: code paths loaded, buffers sized
      const before = peakRss(pid);
      const res = await fetch(`${wd.url}/`);
      let received = 0;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) received += chunk.length;
      expect(received).toBe(FIFTY_MB);
      expect(peakRss(pid) - before).toBeLessThan(20 * 1024 * 1024);
    },
  );

  test("stream mode - a non-zero exit before any output answers 500", async () => {
    await using wd = await startInProcess({ mode: "stream", fprocess: "sh -c 'exit 2'" });
    const res = await fetch(`${wd.url}/`);
    expect(res.status).toBe(500);
    expect(res.headers.get("x-ferry-internal")).toBe("watchdog");
  });

  test("stream mode - a non-zero exit after output cuts the response short", async () => {
    await using wd = await startInProcess({
      mode: "stream",
      fprocess: "sh -c 'echo partial; exit 2'",
    });
    const res = await fetch(`${wd.url}/`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  test("stream mode - exec timeout answers 504", async () => {
    await using wd = await startInProcess({
      mode: "stream",
      fprocess: "sleep 30",
      exec_timeout: "0.2",
    });
    const res = await fetch(`${wd.url}/`);
    expect(res.status).toBe(504);
  });
});

describe("static mode", () => {
  const root = mkdtempSync(join(tmpdir(), "watchdog-static-"));
  mkdirSync(join(root, "site", "docs"), { recursive: true });
  writeFileSync(join(root, "site", "index.html"), "<h1>home</h1>");
  writeFileSync(join(root, "site", "docs", "a.txt"), "alpha");
  writeFileSync(join(root, "secret.txt"), "do not serve");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test("static mode - serves files and a directory's index.html", async () => {
    await using wd = await startInProcess({ mode: "static", static_path: join(root, "site") });
    const index = await fetch(`${wd.url}/`);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await index.text()).toBe("<h1>home</h1>");
    expect(await (await fetch(`${wd.url}/docs/a.txt`)).text()).toBe("alpha");
    const missing = await fetch(`${wd.url}/nope.txt`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-ferry-internal")).toBeNull();
  });

  test("static mode - paths cannot leave static_path", async () => {
    await using wd = await startInProcess({ mode: "static", static_path: join(root, "site") });
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/docs/..%2f..%2fsecret.txt"]) {
      const { status, body } = await rawGet(`${wd.url}${path}`);
      expect({ path, status }).toEqual({ path, status: 404 });
      expect(body).not.toContain("do not serve");
    }
    expect((await fetch(`${wd.url}/docs/a.txt`, { method: "POST" })).status).toBe(405);
  });
});

/** A GET that sends the path exactly as written (fetch would normalise `..`). */
function rawGet(url: string): Promise<{ status: number; body: string }> {
  const { origin, pathname } = new URL(url);
  const path = url.slice(origin.length) || pathname;
  return new Promise((resolve, reject) => {
    request(origin, { path, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}
