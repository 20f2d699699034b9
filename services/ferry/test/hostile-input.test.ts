import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FunctionSpec } from "@ferry/contracts";
import { createLogger } from "@ferry/runtime";
import { startAll, startNats, startRedis, type ServerHandle } from "@ferry/testkit";
import { startStack, type Stack } from "../src/index.js";
import { eventually, lastInvokeSeq } from "./helpers.js";
import { httpRequest as req, rawRequest, type RawResponse } from "./raw-http.js";

const logger = createLogger({ name: "test", level: "silent" });
const ADMIN: [string, string] = ["Authorization", "Bearer corpus-admin-token"];
const JSON_TYPE: [string, string] = ["Content-Type", "application/json"];
const MAX_BODY = 64 * 1024;
let nats: ServerHandle;
let redis: ServerHandle;
let stack: Stack;
let port: number;

beforeAll(async () => {
  [nats, redis] = await startAll([startNats(), startRedis()]);
  stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    maxBodyBytes: MAX_BODY,
    worker: false,
    callbacks: false,
    callbackAllowlist: ["127.0.0.1"],
    gatewaySecurity: {
      auth: { tokens: [ADMIN[1].slice(7)] },
      systemBodyBytes: 4 * 1024,
      maxHeaders: 50,
      maxHeaderBytes: 8 * 1024,
      timeouts: { requestMs: 1_500, headersMs: 800 },
    },
  });
  port = Number(new URL(stack.gatewayUrl).port);
  const put = (raw: unknown): Promise<unknown> => stack.registry.put(FunctionSpec.parse(raw));
  await put({ name: "echo", url: "http://127.0.0.1:9/" });
  await put({ name: "tok", url: "http://127.0.0.1:9/", auth: "token" });
  await put({ name: "small", url: "http://127.0.0.1:9/", maxBodyBytes: 16 });
  // The gateway learns of them through its registry watch.
  await eventually(() => ["echo", "tok", "small"].every((n) => stack.registry.get(n)));
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([nats?.stop(), redis?.stop()]);
});

const many = (n: number, make: (i: number) => [string, string]): Array<[string, string]> =>
  Array.from({ length: n }, (_, i) => make(i));
const chunked = (...parts: string[]): string => parts.join("");
const post = (path: string, headers: Array<[string, string]> = [], body = "x"): Buffer =>
  req("POST", path, headers, body);
const system = (method: string, path: string, body: string): Buffer =>
  req(method, path, [ADMIN, JSON_TYPE], body);
const spec = (extra: Record<string, unknown>): string =>
  JSON.stringify({ name: "corpus-fn", url: "http://127.0.0.1:9/", ...extra });

/**
 * The corpus: [what, status expected, raw request]. Each must get that 4xx with the JSON error
 * shape, publish nothing and leave the gateway alive.
 */
const CORPUS: Array<[string, number, Buffer]> = [
  // --- oversized bodies and headers ---
  ["body over the gateway limit", 413, post("/async-function/echo", [], "x".repeat(MAX_BODY + 1))],
  [
    "Content-Length far over the limit, little sent",
    413,
    req("POST", "/async-function/echo", [["Content-Length", "1000000000000"]], "x"),
  ],
  [
    "chunked body over the limit",
    413,
    req(
      "POST",
      "/async-function/echo",
      [["Transfer-Encoding", "chunked"]],
      chunked(`${(MAX_BODY + 10).toString(16)}\r\n`, "x".repeat(MAX_BODY + 10), "\r\n0\r\n\r\n"),
    ),
  ],
  ["body over the function's maxBodyBytes", 413, post("/async-function/small", [], "x".repeat(17))],
  [
    "system body over its smaller limit",
    413,
    system("POST", "/system/functions", spec({ env: { A: "x".repeat(5000) } })),
  ],
  [
    "one header value of 9 KiB",
    431,
    post("/async-function/echo", [["X-Big", "a".repeat(9 * 1024)]]),
  ],
  [
    "51 headers",
    431,
    post(
      "/async-function/echo",
      many(51, (i) => [`X-H${i}`, "v"]),
    ),
  ],
  [
    "3000 headers",
    431,
    post(
      "/async-function/echo",
      many(3000, (i) => [`X-${i}`, "1"]),
    ),
  ],
  ["URL of 20 KiB", 431, post(`/async-function/echo/${"a".repeat(20 * 1024)}`)],
  [
    "Authorization of 10 KiB on /system",
    431,
    req("GET", "/system/functions", [["Authorization", `Bearer ${"t".repeat(10 * 1024)}`]]),
  ],
  // --- CR/LF and control characters ---
  [
    "CR inside a header value",
    400,
    Buffer.from(
      "POST /async-function/echo HTTP/1.1\r\nHost: x\r\nX-A: a\rInjected: b\r\nContent-Length: 1\r\n\r\nx",
    ),
  ],
  [
    "NUL inside a header value",
    400,
    Buffer.from(
      "POST /async-function/echo HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\nContent-Length: 1\r\n\r\nx",
    ),
  ],
  [
    "obs-fold continuation line",
    400,
    Buffer.from(
      "POST /async-function/echo HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded: b\r\nContent-Length: 1\r\n\r\nx",
    ),
  ],
  [
    "space in a header name",
    400,
    Buffer.from(
      "POST /async-function/echo HTTP/1.1\r\nHost: x\r\nX A: b\r\nContent-Length: 1\r\n\r\nx",
    ),
  ],
  [
    "header line without a colon",
    400,
    Buffer.from(
      "POST /async-function/echo HTTP/1.1\r\nHost: x\r\nnocolon\r\nContent-Length: 1\r\n\r\nx",
    ),
  ],
  ["encoded CR/LF in the path", 400, post("/async-function/echo/a%0d%0aX-Injected:%20b")],
  ["encoded NUL in the path", 400, post("/async-function/echo/a%00b")],
  ["encoded DEL in the path", 400, post("/async-function/echo/a%7fb")],
  ["CR/LF in X-Call-Id (encoded)", 400, post("/async-function/echo", [["X-Call-Id", "a%0d%0ab"]])],
  ["X-Call-Id with spaces", 400, post("/async-function/echo", [["X-Call-Id", "a b"]])],
  [
    "X-Call-Id of 129 characters",
    400,
    post("/async-function/echo", [["X-Call-Id", "a".repeat(129)]]),
  ],
  ["X-Call-Id starting with a dot", 400, post("/async-function/echo", [["X-Call-Id", "../etc"]])],
  // --- request smuggling ---
  [
    "Content-Length and Transfer-Encoding together",
    400,
    Buffer.from(
      "POST /async-function/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ),
  ],
  [
    "two different Content-Lengths",
    400,
    Buffer.from(
      "POST /async-function/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
    ),
  ],
  [
    "bad chunk size",
    400,
    req(
      "POST",
      "/async-function/echo",
      [["Transfer-Encoding", "chunked"]],
      "zz\r\nxx\r\n0\r\n\r\n",
    ),
  ],
  [
    "Transfer-Encoding not ending in chunked",
    400,
    req(
      "POST",
      "/async-function/echo",
      [["Transfer-Encoding", "chunked, identity"]],
      "1\r\nx\r\n0\r\n\r\n",
    ),
  ],
  // --- path traversal in names and paths ---
  ["../ in the function name (encoded)", 404, post("/async-function/..%2f..%2fetc%2fpasswd")],
  ["../ segments below the function", 400, post("/async-function/echo/../../etc/passwd")],
  [
    "encoded ../ segments below the function",
    400,
    post("/async-function/echo/%2e%2e/%2e%2e/etc/passwd"),
  ],
  ["a lone ./ segment", 400, post("/async-function/echo/./x")],
  ["backslash traversal", 400, post("/async-function/echo/..%5c..%5cwindows")],
  ["upper-case function name", 404, post("/async-function/ECHO")],
  ["dot in the function name", 404, post("/async-function/e.cho")],
  ["traversal in a status call id", 400, req("GET", "/async-function/status/..%2f..%2fx")],
  [
    "traversal in /system/functions/:name",
    404,
    req("GET", "/system/functions/..%2f..%2fx", [ADMIN]),
  ],
  ["sync call with ../ below the function", 400, post("/function/echo/../../etc/passwd")],
  // --- unicode tricks ---
  ["Cyrillic look-alike in the name", 404, post("/async-function/%D0%B5cho")],
  ["full-width name", 404, post("/async-function/%EF%BD%85%EF%BD%83%EF%BD%88%EF%BD%8F")],
  ["zero-width joiner in the name", 404, post("/async-function/ec%E2%80%8Dho")],
  ["right-to-left override in the name", 404, post("/async-function/%E2%80%AEohce")],
  ["overlong UTF-8 dots", 400, post("/async-function/echo/%C0%AE%C0%AE/x")],
  ["lone surrogate (invalid UTF-8)", 400, post("/async-function/%ED%A0%80")],
  [
    "UTF-8 bytes in X-Call-Id",
    400,
    post("/async-function/echo", [["X-Call-Id", "\u00ef\u00bd\u0083all"]]),
  ],
  // --- malformed URLs ---
  ["bad percent escape in the name", 400, post("/async-function/%zz")],
  ["truncated percent escape", 400, post("/async-function/echo%")],
  [
    "invalid method token",
    400,
    Buffer.from("P@ST /async-function/echo HTTP/1.1\r\nHost: x\r\n\r\n"),
  ],
  [
    "unknown HTTP version",
    400,
    Buffer.from("POST /async-function/echo HTTP/9.9\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
  ],
  ["garbage request line", 400, Buffer.from("\u0000\u0001\u0002 garbage\r\n\r\n")],
  [
    "space inside the request target",
    400,
    Buffer.from("POST /async-function/ec ho HTTP/1.1\r\nHost: x\r\n\r\n"),
  ],
  ["GET on the invocation route", 404, req("GET", "/async-function/echo")],
  // --- invocation headers ---
  [
    "X-Callback-Url with a javascript: scheme",
    400,
    post("/async-function/echo", [["X-Callback-Url", "javascript:alert(1)"]]),
  ],
  [
    "X-Callback-Url with credentials",
    400,
    post("/async-function/echo", [["X-Callback-Url", "http://user:pass@127.0.0.1/cb"]]),
  ],
  [
    "X-Callback-Url at the metadata service",
    400,
    post("/async-function/echo", [["X-Callback-Url", "http://169.254.169.254/latest/meta-data"]]),
  ],
  [
    "X-Callback-Url at a private address",
    400,
    post("/async-function/echo", [["X-Callback-Url", "http://10.0.0.1/cb"]]),
  ],
  [
    "X-Callback-Url at IPv6 loopback",
    400,
    post("/async-function/echo", [["X-Callback-Url", "http://[::1]/cb"]]),
  ],
  ["X-Callback-Url not a URL", 400, post("/async-function/echo", [["X-Callback-Url", "::::"]])],
  ["negative X-Delay", 400, post("/async-function/echo", [["X-Delay", "-5"]])],
  ["X-Delay beyond the maximum", 400, post("/async-function/echo", [["X-Delay", "99999999999"]])],
  ["X-Not-Before garbage", 400, post("/async-function/echo", [["X-Not-Before", "tomorrow-ish"]])],
  ["auth: token function without a token", 401, post("/async-function/tok")],
  [
    "auth: token function with a forged token",
    401,
    post("/async-function/tok", [["Authorization", "Bearer forged"]]),
  ],
  // --- the system API: malformed JSON and values ---
  ["/system without credentials", 401, req("GET", "/system/functions")],
  ["encoded /system without credentials", 401, req("GET", "/%73ystem/functions")],
  ["truncated JSON", 400, system("POST", "/system/functions", "{")],
  ["JSON array instead of an object", 400, system("POST", "/system/functions", "[]")],
  ["JSON string instead of an object", 400, system("POST", "/system/functions", '"spec"')],
  [
    "deeply nested JSON",
    400,
    system("POST", "/system/functions", "[".repeat(2000) + "]".repeat(2000)),
  ],
  ["traversal in a spec name", 400, system("POST", "/system/functions", spec({ name: "../x" }))],
  [
    "__proto__ key in a spec",
    400,
    system(
      "POST",
      "/system/functions",
      spec({ __proto__: { admin: true } }).replace('"name"', '"__proto__":{"admin":true},"name"'),
    ),
  ],
  ["non-string env values", 400, system("POST", "/system/functions", spec({ env: { A: 1 } }))],
  [
    "negative rate limit",
    400,
    system("POST", "/system/functions", spec({ rateLimit: { max: -1 } })),
  ],
  [
    "secret with a bad variable name",
    400,
    system("POST", "/system/functions", spec({ secrets: { "BAD NAME": { env: "X" } } })),
  ],
  [
    "secret with a value instead of a reference",
    400,
    system("POST", "/system/functions", spec({ secrets: { KEY: "plain-value" } })),
  ],
  [
    "auth mode that does not exist",
    400,
    system("POST", "/system/functions", spec({ auth: "maybe" })),
  ],
  [
    "callback url with a file: scheme in a spec",
    400,
    system("POST", "/system/functions", spec({ url: "file:///etc/passwd" })),
  ],
  [
    "PUT with a name differing from the URL",
    400,
    system("PUT", "/system/functions/echo", spec({})),
  ],
  ["replay with a number as topic", 400, system("POST", "/system/events/replay", '{"topic":5}')],
  ["redrive with broken JSON", 400, system("POST", "/system/dlq/redrive", "{bad")],
  [
    "redrive of call ids with traversal",
    400,
    system("POST", "/system/dlq/redrive", '{"callIds":["../../x"]}'),
  ],
  ["DLQ list with a negative limit", 400, req("GET", "/system/dlq?limit=-5", [ADMIN])],
  ["DLQ list with a non-numeric cursor", 400, req("GET", "/system/dlq?after=abc", [ADMIN])],
  ["DLQ list for a bad function name", 400, req("GET", "/system/dlq?function=..%2Fx", [ADMIN])],
];

function expectErrorShape(res: RawResponse, what: string): void {
  let body: { error?: { code?: unknown; message?: unknown } };
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    throw new Error(`${what}: not JSON: ${res.body.slice(0, 200)}`);
  }
  expect(typeof body.error?.code, what).toBe("string");
  expect(body.error?.code, what).toMatch(/^FERRY_ERR_/);
  expect(typeof body.error?.message, what).toBe("string");
}

describe("hostile input", () => {
  test("corpus - has at least 50 requests", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(50);
  });

  test("corpus - every hostile request gets its 4xx with the JSON error shape, nothing is published, the gateway lives", async () => {
    const seq = await lastInvokeSeq(stack.nc);
    const functions = JSON.stringify(stack.registry.list());
    const wrong: string[] = [];
    for (const [what, status, bytes] of CORPUS) {
      const res = await rawRequest(port, bytes);
      if (res.status !== status)
        wrong.push(`${what}: ${res.status} (want ${status}) ${res.body.slice(0, 160)}`);
      else expectErrorShape(res, what);
      // Alive after each one.
      expect((await fetch(`${stack.gatewayUrl}/healthz`)).status, what).toBe(200);
    }
    expect(wrong).toEqual([]);
    expect(await lastInvokeSeq(stack.nc)).toBe(seq);
    expect(JSON.stringify(stack.registry.list())).toBe(functions);
  });

  test("slow loris - headers that never finish get 408 with the JSON shape after the headers timeout", async () => {
    const seq = await lastInvokeSeq(stack.nc);
    const start = Buffer.from("POST /async-function/echo HTTP/1.1\r\nHost: x\r\n");
    const drip = Array.from({ length: 40 }, (_, i) => Buffer.from(`X-Slow-${i}: 1\r\n`));
    const res = await rawRequest(port, start, { slow: { chunks: drip, intervalMs: 100 } });
    expect(res.status).toBe(408);
    expectErrorShape(res, "slow headers");
    expect(JSON.parse(res.body).error.code).toBe("FERRY_ERR_REQUEST_TIMEOUT");
    expect(await lastInvokeSeq(stack.nc)).toBe(seq);
  });

  test("slow loris - a body sent a byte at a time gets 408 after the request timeout; nothing is published", async () => {
    const seq = await lastInvokeSeq(stack.nc);
    const head = Buffer.from(
      "POST /async-function/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
    );
    const drip = Array.from({ length: 100 }, () => Buffer.from("x"));
    const res = await rawRequest(port, head, { slow: { chunks: drip, intervalMs: 100 } });
    expect(res.status).toBe(408);
    expectErrorShape(res, "slow body");
    expect(await lastInvokeSeq(stack.nc)).toBe(seq);
    expect((await fetch(`${stack.gatewayUrl}/healthz`)).status).toBe(200);
  });

  test("corpus - a well-formed call still gets 202 after all of it", async () => {
    const res = await rawRequest(
      port,
      post("/async-function/echo/a/b?x=1", [["X-Call-Id", "fine-1"]]),
    );
    expect(res.status).toBe(202);
  });
});

/** Fixed seed, bounded runs: the same requests on every CI run, in a few seconds. */
const FUZZ = { seed: 13_013, numRuns: 300 };

/** Path segments: plain, encoded bytes of any value, dots, unicode, and very long ones. */
const segment = fc.oneof(
  fc.constantFrom(
    "echo",
    "tok",
    "small",
    "nope",
    "..",
    ".",
    "%2e%2e",
    "%2F",
    "%00",
    "%",
    "%zz",
    "status",
    "result",
  ),
  fc.stringMatching(/^[A-Za-z0-9._~-]{0,20}$/),
  fc
    .uint8Array({ maxLength: 12 })
    .map((b) => [...b].map((x) => "%" + x.toString(16).padStart(2, "0")).join("")),
  fc.string({ unit: "grapheme", maxLength: 8 }).map(encodeURIComponent),
);
const target = fc
  .tuple(
    // Every route family but the sync proxy, whose 502 for an unreachable function is right.
    fc.oneof(
      // Well-formed calls too, so that headers and bodies reach the publish.
      { weight: 2, arbitrary: fc.constantFrom("/async-function/echo", "/async-function/echo/sub") },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          "/async-function",
          "/system/functions",
          "/system/dlq",
          "/system/callbacks",
          "/system/events",
          "/system",
          "/metrics",
          "/ui",
          "/healthz",
          "",
          "/async-function/status",
          "/async-function/result",
        ),
      },
    ),
    fc.array(segment, { maxLength: 4 }),
    fc.option(fc.string({ maxLength: 30 }).map(encodeURIComponent), { nil: undefined }),
  )
  .map(
    ([base, segs, q]) =>
      (base + (segs.length ? "/" + segs.join("/") : "") || "/") + (q === undefined ? "" : "?" + q),
  );
/** Header values: visible latin-1 and tabs, no CR/LF (the parser's own refusals are in the corpus). */
const headerValue = fc
  .string({ maxLength: 60 })
  .map((s) => s.replace(/[^\t\x20-\x7e\xa0-\xff]/g, ""));
const header = fc.tuple(
  fc.oneof(
    fc.constantFrom(
      "X-Call-Id",
      "X-Callback-Url",
      "X-Delay",
      "X-Not-Before",
      "Idempotency-Key",
      "Content-Type",
      "Authorization",
      "Connection",
      "Traceparent",
      "Expect",
    ),
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/),
  ),
  headerValue,
);
const body = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.json({ maxDepth: 3 }).map((j) => Buffer.from(j)),
  fc.constant(Buffer.from(spec({}))),
);
const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"),
  path: target,
  headers: fc.array(header, { maxLength: 8 }),
  admin: fc.boolean(),
  body,
});

describe("gateway fuzzing", () => {
  test("gateway fuzz - no generated request gets a 5xx; every error has the JSON shape", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Array<[string, string]> = r.admin ? [ADMIN, ...r.headers] : r.headers;
        // Connection is the client's business here: always close.
        const clean = headers.filter(
          ([k]) => !/^(connection|content-length|transfer-encoding|host|expect)$/i.test(k),
        );
        const res = await rawRequest(
          port,
          req(r.method, r.path, clean, r.method === "GET" || r.method === "HEAD" ? "" : r.body),
        );
        expect(res.status, `${r.method} ${r.path}`).toBeGreaterThanOrEqual(200);
        expect(res.status, `${r.method} ${r.path}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
        if (res.status >= 400 && r.method !== "HEAD")
          expectErrorShape(res, `${r.method} ${r.path}`);
      }),
      FUZZ,
    );
    expect((await fetch(`${stack.gatewayUrl}/healthz`)).status).toBe(200);
  });
});
