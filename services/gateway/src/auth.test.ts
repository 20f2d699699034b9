import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { createAuthenticator, isProtectedPath } from "./auth.js";
import { AUTH_VARIABLES, loadConfig } from "./config.js";
import { authFromConfig } from "./credentials.js";
import { createPublishGate } from "./limits.js";

const basic = (pair: string): string => `Basic ${Buffer.from(pair).toString("base64")}`;

describe("auth", () => {
  const auth = createAuthenticator({
    tokens: ["tok"],
    users: [{ user: "u", password: "p:w" }],
    invokeTokens: [{ token: "any" }, { token: "one", function: "echo" }],
  });

  test("auth - tokens and basic users are admins, invoke tokens are not; anything else is nobody", () => {
    expect(auth.identify("Bearer tok")).toEqual({ role: "admin" });
    expect(auth.identify(basic("u:p:w"))).toEqual({ role: "admin" });
    expect(auth.identify("Bearer any")).toEqual({ role: "invoke", function: undefined });
    expect(auth.identify("Bearer one")).toEqual({ role: "invoke", function: "echo" });
    for (const h of [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      "Bearer tok2",
      "Basic tok",
      basic("u:p"),
      "tok",
    ]) {
      expect(auth.identify(h), String(h)).toBeUndefined();
    }
  });

  test("auth - the protected prefixes match whole path segments only", () => {
    for (const p of [
      "/system",
      "/system/functions",
      "/ui",
      "/ui/",
      "/metrics",
      "/metrics?x",
      "/system?a",
    ]) {
      expect(isProtectedPath(p), p).toBe(true);
    }
    for (const p of ["/systems", "/uix", "/metricsx", "/healthz", "/async-function/system", "/"]) {
      expect(isProtectedPath(p), p).toBe(false);
    }
  });
});

describe("gateway config - credentials", () => {
  test("config - the gateway refuses to start without credentials, naming the variables", () => {
    expect(() => loadConfig({})).toThrow(/no credentials/);
    try {
      loadConfig({});
    } catch (err) {
      for (const name of AUTH_VARIABLES) expect((err as Error).message).toContain(name);
      expect((err as Error).message).toContain("AUTH_DISABLED");
    }
    expect(loadConfig({ AUTH_DISABLED: "true" }).AUTH_DISABLED).toBe(true);
    expect(loadConfig({ AUTH_TOKENS: "a,b" }).AUTH_TOKENS).toEqual(["a", "b"]);
  });

  test("config - credentials from values and files; bad entries are refused without echoing them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ferry-auth-"));
    try {
      await writeFile(join(dir, "tokens"), "# operators\nfile-token\n\n");
      await writeFile(join(dir, "users"), "ann:pw1\n");
      await writeFile(join(dir, "invoke"), "echo:t1\nt2\n");
      const auth = authFromConfig(
        loadConfig({
          AUTH_TOKENS: "env-token",
          AUTH_TOKENS_FILE: join(dir, "tokens"),
          AUTH_USERS_FILE: join(dir, "users"),
          INVOKE_TOKENS_FILE: join(dir, "invoke"),
        }),
      );
      expect(auth.tokens).toEqual(["env-token", "file-token"]);
      expect(auth.users).toEqual([{ user: "ann", password: "pw1" }]);
      expect(auth.invokeTokens).toEqual([{ token: "t1", function: "echo" }, { token: "t2" }]);
      expect(() => authFromConfig(loadConfig({ AUTH_USERS: "no-colon-secret" }))).toThrow(
        /AUTH_USERS: entries must be user:password/,
      );
      try {
        authFromConfig(loadConfig({ AUTH_USERS: "no-colon-secret" }));
      } catch (err) {
        expect((err as Error).message).not.toContain("no-colon-secret");
      }
      expect(() => authFromConfig(loadConfig({ AUTH_TOKENS_FILE: join(dir, "missing") }))).toThrow(
        /AUTH_TOKENS_FILE: cannot read the file \(ENOENT\)/,
      );
      await writeFile(join(dir, "empty"), "# nothing\n");
      expect(() => authFromConfig(loadConfig({ AUTH_TOKENS_FILE: join(dir, "empty") }))).toThrow(
        /hold no credentials/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("publish gate", () => {
  test("gate - beyond its slots a call gets 503 with Retry-After; a freed slot takes the next", () => {
    const gate = createPublishGate(2);
    const headers: Record<string, string> = {};
    const reply = { header: (k: string, v: string) => (headers[k] = v) } as never;
    gate.enter(reply);
    gate.enter(reply);
    expect(() => gate.enter(reply)).toThrow(expect.objectContaining({ status: 503 }));
    expect(headers["retry-after"]).toBe("1");
    gate.leave();
    expect(() => gate.enter(reply)).not.toThrow();
    expect(gate.inflight).toBe(2);
  });
});
