import { request } from "node:http";
import { describe, expect, test } from "vitest";
import { startInProcess, eventually, upstreamEnv } from "./helpers.js";

describe("http mode", () => {
  test("http mode - proxies method, path, query, body and headers", async () => {
    await using wd = await startInProcess(await upstreamEnv());
    const res = await fetch(`${wd.url}/some/path?a=1&b=2`, {
      method: "PUT",
      body: "hello",
      headers: { "x-custom": "yes", "content-type": "text/plain" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ferry-internal")).toBeNull();
    expect(Number(res.headers.get("x-duration-seconds"))).toBeGreaterThanOrEqual(0);
    const seen = (await res.json()) as {
      method: string;
      url: string;
      body: string;
      headers: Record<string, string>;
    };
    expect(seen).toMatchObject({ method: "PUT", url: "/some/path?a=1&b=2", body: "hello" });
    expect(seen.headers["x-custom"]).toBe("yes");
    expect(seen.headers["content-type"]).toBe("text/plain");
  });

  test("http mode - drops hop-by-hop headers in both directions", async () => {
    await using wd = await startInProcess(await upstreamEnv());
    const { headers } = await rawGet(`${wd.url}/echo`, {
      connection: "keep-alive, x-secret",
      "x-secret": "s",
      te: "trailers",
    });
    const seen = JSON.parse(headers.body) as { headers: Record<string, string> };
    expect(seen.headers["x-secret"]).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(headers.raw["x-upstream-pid"]).toMatch(/^\d+$/);
    expect(headers.raw["x-duration-seconds"]).toMatch(/^\d+\.\d+$/);
  });

  test("http mode - streams server-sent events as the function writes them", async () => {
    await using wd = await startInProcess(await upstreamEnv());
    const res = await fetch(`${wd.url}/sse?n=3`);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    // The first event arrives on its own, before the function has written the others.
    expect(new TextDecoder().decode(first.value)).toBe("data: 0\n\n");
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += new TextDecoder().decode(r.value);
    expect(rest).toBe("data: 1\n\ndata: 2\n\n");
  });

  test("http mode - a crashed function answers 502, is restarted and serves again", async () => {
    await using wd = await startInProcess(await upstreamEnv());
    const before = await fetch(`${wd.url}/pid`);
    const pid = before.headers.get("x-upstream-pid");
    await before.arrayBuffer();
    const crash = await fetch(`${wd.url}/crash`);
    expect(crash.status).toBe(502);
    expect(crash.headers.get("x-ferry-internal")).toBe("watchdog");
    expect(((await crash.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_BAD_GATEWAY",
    );
    let after: Response | undefined;
    await eventually(async () => {
      after = await fetch(`${wd.url}/pid`);
      if (after.status !== 200) await after.arrayBuffer();
      return after.status === 200;
    }, "the restarted function");
    expect(after?.headers.get("x-upstream-pid")).not.toBe(pid);
  });

  test("http mode - a call over its X-Timeout answers 504", async () => {
    await using wd = await startInProcess(await upstreamEnv());
    const res = await fetch(`${wd.url}/slow?ms=20000`, { headers: { "x-timeout": "0.2" } });
    expect(res.status).toBe(504);
    expect(res.headers.get("x-ferry-internal")).toBe("watchdog");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_TIMEOUT",
    );
  });

  test("http mode - a small body written in pieces reaches the function whole", async () => {
    await using wd = await startInProcess(await upstreamEnv());
    const { status, body } = await postInPieces(`${wd.url}/echo`, ["he", "ll", "o!"], 6, 50);
    expect(status).toBe(200);
    expect((JSON.parse(body) as { body: string }).body).toBe("hello!");
  });

  test("http mode - a body that never completes times out with 504 and never reaches the function", async () => {
    await using wd = await startInProcess(await upstreamEnv());
    const { status, body } = await postInPieces(`${wd.url}/echo`, ["abc"], 10, 0, "0.3");
    expect(status).toBe(504);
    expect((JSON.parse(body) as { error: { code: string } }).error.code).toBe("FERRY_ERR_TIMEOUT");
    await new Promise((r) => setTimeout(r, 300));
    expect(await (await fetch(`${wd.url}/calls`)).text()).toBe("0");
  });

  test("http mode - calls over max_inflight answer 429 and readiness says so", async () => {
    await using wd = await startInProcess(await upstreamEnv({ max_inflight: "1" }));
    const slow = fetch(`${wd.url}/slow?ms=1000`);
    await eventually(
      async () => (await fetch(`${wd.url}/_/ready`)).status === 429,
      "ready to report 429",
    );
    const rejected = await fetch(`${wd.url}/other`);
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get("x-ferry-internal")).toBe("watchdog");
    expect(((await rejected.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_TOO_MANY_REQUESTS",
    );
    expect((await slow).status).toBe(200);
  });

  test("http mode - ready_path makes /_/ready follow the function's own readiness", async () => {
    await using ready = await startInProcess(await upstreamEnv({ ready_path: "/ready" }));
    expect((await fetch(`${ready.url}/_/ready`)).status).toBe(200);
    await using notReady = await startInProcess(
      await upstreamEnv({ ready_path: "/ready", NOT_READY: "1" }),
    );
    expect((await fetch(`${notReady.url}/_/ready`)).status).toBe(503);
    expect((await fetch(`${notReady.url}/_/health`)).status).toBe(200);
  });

  test("http mode - metrics count calls by code and method", async () => {
    await using wd = await startInProcess(await upstreamEnv({ metrics_port: "0" }));
    await (await fetch(`${wd.url}/x`, { method: "POST", body: "1" })).arrayBuffer();
    const text = await (await fetch(`http://127.0.0.1:${wd.metricsPort}/metrics`)).text();
    expect(text).toContain('http_requests_total{code="200",method="POST"} 1');
    expect(text).toContain("http_request_duration_seconds_bucket");
    expect(text).toContain("http_requests_in_flight 0");
    expect(text).toContain('watchdog_process_starts_total{reason="upstream"} 1');
  });
});

/**
 * POSTs `pieces` with `gapMs` between them under a Content-Length of `length`; a length above the
 * pieces' total leaves the body unfinished. Resolves with the answer.
 */
function postInPieces(
  url: string,
  pieces: string[],
  length: number,
  gapMs: number,
  timeout?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-length": String(length) };
    if (timeout) headers["x-timeout"] = timeout;
    const req = request(url, { method: "POST", headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    }).on("error", reject);
    void (async () => {
      for (const piece of pieces) {
        req.write(piece);
        await new Promise((r) => setTimeout(r, gapMs));
      }
    })();
  });
}

/** GET with exact headers, returning the raw response headers and body. */
function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ headers: { raw: Record<string, string | string[] | undefined>; body: string } }> {
  return new Promise((resolve, reject) => {
    request(url, { headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ headers: { raw: res.headers, body } }));
    })
      .on("error", reject)
      .end();
  });
}
