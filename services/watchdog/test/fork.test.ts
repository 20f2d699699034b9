import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { alive, eventually, example, spawnWatchdog, startInProcess } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "watchdog-fork-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("fork mode", () => {
  test("fork mode - request body on stdin, stdout as the response", async () => {
    await using wd = await startInProcess({ mode: "fork", fprocess: "tr a-z A-Z" });
    const res = await fetch(`${wd.url}/`, {
      method: "POST",
      body: "hello fork",
      headers: { "content-type": "text/plain" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(res.headers.get("x-duration-seconds")).toMatch(/^\d+\.\d+$/);
    expect(await res.text()).toBe("HELLO FORK");
  });

  test("fork mode - serializing is accepted as an alias and content_type sets the response type", async () => {
    await using wd = await startInProcess({
      mode: "serializing",
      fprocess: "wc -c",
      content_type: "text/x-count",
    });
    const res = await fetch(`${wd.url}/`, { method: "POST", body: "12345" });
    expect(res.headers.get("content-type")).toBe("text/x-count");
    expect((await res.text()).trim()).toBe("5");
  });

  test("fork mode - request headers, method, path and query as Http_ variables", async () => {
    await using wd = await startInProcess({ mode: "fork", fprocess: "env" });
    const res = await fetch(`${wd.url}/a/b?x=1&y=2`, {
      method: "POST",
      body: "{}",
      headers: {
        "content-type": "application/json",
        "X-Call-Id": "abc-123",
        "x-multi-part-name": "v",
      },
    });
    const env = await res.text();
    expect(env).toContain("Http_Content_Type=application/json\n");
    expect(env).toContain("Http_X_Call_Id=abc-123\n");
    expect(env).toContain("Http_X_Multi_Part_Name=v\n");
    expect(env).toContain("Http_Method=POST\n");
    expect(env).toContain("Http_Path=/a/b\n");
    expect(env).toContain("Http_Query=x=1&y=2\n");
  });

  test("fork mode - a non-zero exit answers 500 and logs the function's stderr", async () => {
    await using wd = await spawnWatchdog({
      mode: "fork",
      fprocess: "sh -c 'echo broken-input-xyz >&2; exit 3'",
    });
    const res = await fetch(`${wd.url}/`, { method: "POST", body: "x" });
    expect(res.status).toBe(500);
    expect(res.headers.get("x-ferry-internal")).toBe("watchdog");
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("FERRY_ERR_FUNCTION_FAILED");
    expect(body.error.message).toContain("code 3");
    await eventually(() => wd.output().includes("broken-input-xyz"), "stderr in the log");
    await eventually(
      () => wd.output().includes('"msg":"function exited with an error"'),
      "the exit in the log",
    );
  });

  test("fork mode - exec timeout answers 504 and kills the whole process group", async () => {
    const pidFile = join(dir, "grandchild.pid");
    await using wd = await startInProcess({
      mode: "fork",
      fprocess: "sh -c 'sleep 30 & echo $! > \"$PIDFILE\"; wait'",
      exec_timeout: "300ms",
      PIDFILE: pidFile,
    });
    const res = await fetch(`${wd.url}/`);
    expect(res.status).toBe(504);
    expect(res.headers.get("x-ferry-internal")).toBe("watchdog");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_TIMEOUT",
    );
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    await eventually(() => !alive(grandchild), "the sleeping grandchild to be killed");
  });

  test("fork mode - a failing fprocess answers 500", async () => {
    await using wd = await startInProcess({
      mode: "fork",
      fprocess: "/nonexistent/function-binary",
    });
    const res = await fetch(`${wd.url}/`);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_INTERNAL",
    );
  });
});

describe("examples", () => {
  test("examples - wc-fork counts lines, words and bytes with a shell pipeline", async () => {
    await using wd = await startInProcess({
      mode: "fork",
      fprocess: "wc | tr -s ' ' | sed 's/^ //'",
    });
    const res = await fetch(`${wd.url}/`, { method: "POST", body: "a b\nc" });
    expect(await res.text()).toBe("1 3 5\n");
  });

  test("examples - upper-stream upper-cases a streamed body", async () => {
    const handler = example("upper-stream/handler.mjs");
    await using wd = await startInProcess({
      mode: "stream",
      fprocess: `node ${handler}`,
      pool_size: "1",
    });
    const res = await fetch(`${wd.url}/`, { method: "POST", body: "héllo stream" });
    expect(await res.text()).toBe("HÉLLO STREAM");
  });
});

describe("warm pool", () => {
  test("pool - never reuses a process: 100 calls, 100 distinct pids", async () => {
    await using wd = await startInProcess({
      mode: "fork",
      fprocess: "sh -c 'echo $$'",
      pool_size: "4",
    });
    const pids = new Set<string>();
    for (let i = 0; i < 100; i++) pids.add((await (await fetch(`${wd.url}/`)).text()).trim());
    expect(pids.size).toBe(100);
  });

  test("pool - pooled processes get the base environment, without Http_ variables", async () => {
    await using wd = await startInProcess({
      mode: "fork",
      fprocess: "env",
      pool_size: "2",
      POOL_MARKER: "base",
    });
    const env = await (await fetch(`${wd.url}/p?q=1`, { headers: { "x-call-id": "c1" } })).text();
    expect(env).toContain("POOL_MARKER=base\n");
    expect(env).not.toContain("Http_");
  });

  test("pool - concurrent calls each get their own process and body", async () => {
    await using wd = await startInProcess({ mode: "stream", fprocess: "cat", pool_size: "3" });
    const bodies = Array.from({ length: 20 }, (_, i) => `call-${i}-`.repeat(100));
    const answers = await Promise.all(
      bodies.map(async (body) => (await fetch(`${wd.url}/`, { method: "POST", body })).text()),
    );
    expect(answers).toEqual(bodies);
  });
});
