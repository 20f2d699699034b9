import { Writable } from "node:stream";
import { jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FunctionSpec, Streams } from "@ferry/contracts";
import { REDACTED_PATHS } from "@ferry/runtime";
import { startAll, startNats, startRedis, type ServerHandle } from "@ferry/testkit";
import { eventually } from "./helpers.js";
import { CliError, program, startStack, type Io, type Stack } from "../src/index.js";

const ADMIN = "admin-token-0123456789";
const PASSWORD = "s3cret-password";
const INVOKE_ANY = "invoke-any-token";
const INVOKE_ECHO = "invoke-echo-token";
let logText = "";
const logger = pino(
  { level: "trace", redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" } },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logText += chunk.toString();
      done();
    },
  }),
);
let nats: ServerHandle;
let redis: ServerHandle;
let stack: Stack;

const spec = (name: string, extra: Record<string, unknown> = {}): FunctionSpec =>
  FunctionSpec.parse({ name, url: "http://127.0.0.1:9/", ...extra });

beforeAll(async () => {
  [nats, redis] = await startAll([startNats(), startRedis()]);
  stack = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    worker: false,
    callbacks: false,
    callbackAllowlist: ["127.0.0.1"],
    gatewaySecurity: {
      auth: {
        tokens: [ADMIN],
        users: [{ user: "admin", password: PASSWORD }],
        invokeTokens: [{ token: INVOKE_ANY }, { token: INVOKE_ECHO, function: "echo" }],
      },
    },
  });
  await stack.registry.put(spec("open"));
  await stack.registry.put(spec("echo", { auth: "token" }));
  await stack.registry.put(spec("other", { auth: "token" }));
  await stack.registry.put(
    spec("with-secrets", {
      env: { MODE: "plain" },
      secrets: { API_KEY: { env: "ECHO_API_KEY" }, DB_PASSWORD: { file: "/run/secrets/db" } },
    }),
  );
  // The gateway learns of them through its registry watch.
  await eventually(() =>
    ["open", "echo", "other", "with-secrets"].every((n) => stack.registry.get(n)),
  );
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([nats?.stop(), redis?.stop()]);
});

const call = (method: string, path: string, authorization?: string): Promise<Response> =>
  fetch(`${stack.gatewayUrl}${path}`, {
    method,
    headers: authorization ? { authorization } : {},
    ...(method === "POST" || method === "PUT" ? { body: "{}" } : {}),
  });
const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** Every protected route the gateway has, a future one (`/ui`), an unknown one and an encoded one. */
const PROTECTED: Array<[string, string]> = [
  ["GET", "/system/functions"],
  ["GET", "/system/functions/open"],
  ["POST", "/system/functions"],
  ["PUT", "/system/functions/open"],
  ["DELETE", "/system/functions/gone"],
  ["GET", "/system/info"],
  ["GET", "/system/queues"],
  ["GET", "/system/dlq"],
  ["POST", "/system/dlq/redrive"],
  ["GET", "/system/callbacks/failed"],
  ["POST", "/system/events/replay"],
  ["GET", "/system/not-a-route"],
  ["GET", "/metrics"],
  ["GET", "/ui"],
  ["GET", "/ui/index.html"],
  ["GET", "/%73ystem/functions"],
  ["GET", "/system/functions?x=1"],
];

describe("security - operator credentials", () => {
  test.each(PROTECTED)(
    "auth - %s %s: 401 with a basic challenge without credentials",
    async (m, p) => {
      const res = await call(m, p);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Basic realm="ferry"');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        "FERRY_ERR_UNAUTHORIZED",
      );
    },
  );

  test.each(PROTECTED)("auth - %s %s: 401 with wrong credentials", async (m, p) => {
    for (const auth of [
      "Bearer wrong",
      `Bearer ${ADMIN}x`,
      basic("admin", "wrong"),
      basic("nobody", PASSWORD),
      `Basic ${ADMIN}`,
      `Token ${ADMIN}`,
      "Bearer",
    ]) {
      const res = await call(m, p, auth);
      expect(res.status, auth).toBe(401);
    }
  });

  test.each(PROTECTED)("auth - %s %s: 403 for an invoke-only token", async (m, p) => {
    const res = await call(m, p, `Bearer ${INVOKE_ANY}`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_FORBIDDEN",
    );
  });

  test.each(PROTECTED)("auth - %s %s: accepted with the token or the basic user", async (m, p) => {
    for (const auth of [`Bearer ${ADMIN}`, `bearer ${ADMIN}`, basic("admin", PASSWORD)]) {
      const res = await call(m, p, auth);
      // Past the guard: whatever the route answers (400 for an empty body, 404 for no route).
      expect([401, 403], `${auth}: ${res.status}`).not.toContain(res.status);
      expect(res.status).toBeLessThan(500);
    }
  });

  test("auth - health and readiness stay open for probes", async () => {
    expect((await call("GET", "/healthz")).status).toBe(200);
    expect((await call("GET", "/readyz")).status).toBe(200);
  });
});

describe("security - function auth", () => {
  test("function auth - `auth: none` takes calls without credentials", async () => {
    expect((await call("POST", "/async-function/open")).status).toBe(202);
  });

  test("function auth - `auth: token` refuses 401 without or with a wrong token, async and sync", async () => {
    for (const path of ["/async-function/echo", "/function/echo"]) {
      const none = await call("POST", path);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Bearer realm="ferry"');
      expect((await call("POST", path, "Bearer wrong")).status).toBe(401);
    }
  });

  test("function auth - a token of another function gets 403; its own, an any-function or the admin token 202", async () => {
    expect((await call("POST", "/async-function/other", `Bearer ${INVOKE_ECHO}`)).status).toBe(403);
    expect((await call("POST", "/function/other", `Bearer ${INVOKE_ECHO}`)).status).toBe(403);
    for (const token of [INVOKE_ECHO, INVOKE_ANY, ADMIN]) {
      expect((await call("POST", "/async-function/echo", `Bearer ${token}`)).status).toBe(202);
    }
    expect((await call("POST", "/async-function/other", `Bearer ${INVOKE_ANY}`)).status).toBe(202);
  });

  test("function auth - the gateway's credential is not forwarded to the function", async () => {
    const res = await call("POST", "/async-function/echo", `Bearer ${INVOKE_ECHO}`);
    expect(res.status).toBe(202);
    const jsm = await jetstreamManager(stack.nc);
    const info = await jsm.streams.info(Streams.Invoke);
    const msg = await jsm.streams.getMessage(Streams.Invoke, { seq: info.state.last_seq });
    expect(msg?.header.get("Ferry-Call-Id")).toBe(res.headers.get("x-call-id"));
    expect([...(msg?.header.keys() ?? [])].map((k) => k.toLowerCase())).not.toContain(
      "ferry-fwd-authorization",
    );
  });
});

describe("security - secrets", () => {
  test("secrets - the API shows secret references, never values, and credentials are not logged", async () => {
    process.env.ECHO_API_KEY = "value-that-must-not-leak";
    const res = await call("GET", "/system/functions/with-secrets", `Bearer ${ADMIN}`);
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(JSON.parse(body).secrets).toEqual({
      API_KEY: { env: "ECHO_API_KEY" },
      DB_PASSWORD: { file: "/run/secrets/db" },
    });
    expect(body).not.toContain("value-that-must-not-leak");
    logger.info({ headers: { authorization: `Bearer ${ADMIN}` } }, "a module logging headers");
    logger.flush();
    expect(logText).not.toContain(ADMIN);
    expect(logText).not.toContain(PASSWORD);
    expect(logText).not.toContain(INVOKE_ECHO);
    delete process.env.ECHO_API_KEY;
  });
});

describe("security - the ferry CLI", () => {
  /** Runs `ferry ARGS` in this process with the given environment. */
  async function ferry(
    args: string[],
    env: NodeJS.ProcessEnv,
  ): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    const io: Io = {
      out: (t) => void (out += t),
      err: () => {},
      stdin: async () => Buffer.alloc(0),
      isTTY: false,
      env: { FERRY_GATEWAY_URL: stack.gatewayUrl, ...env },
    };
    try {
      await program(io).exitOverride().parseAsync(args, { from: "user" });
      return { code: 0, out, err: "" };
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      return { code: e.exitCode, out, err: e.message };
    }
  }

  test("cli - list sends FERRY_TOKEN or FERRY_BASIC_AUTH; without them the gateway's 401 is reported", async () => {
    const denied = await ferry(["list"], {});
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(/^401 FERRY_ERR_UNAUTHORIZED/);
    expect((await ferry(["list"], { FERRY_TOKEN: ADMIN })).out).toContain("with-secrets");
    expect((await ferry(["list"], { FERRY_BASIC_AUTH: `admin:${PASSWORD}` })).out).toContain(
      "echo",
    );
    expect((await ferry(["--token", INVOKE_ANY, "list"], {})).err).toMatch(
      /^403 FERRY_ERR_FORBIDDEN/,
    );
  });
});
