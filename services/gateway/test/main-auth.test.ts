import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));

describe("gateway entry", () => {
  test("main - without credentials the gateway exits 1 naming the variables, before connecting", () => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(AUTH_|INVOKE_TOKENS)/.test(k)),
    );
    const res = spawnSync(
      process.execPath,
      ["--import", "tsx", "--conditions=@ferry/source", MAIN],
      // A NATS that is not there: the check must come first.
      { env: { ...env, NATS_URL: "nats://127.0.0.1:1" }, encoding: "utf8", timeout: 60_000 },
    );
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^gateway: invalid configuration: no credentials/);
    for (const name of [
      "AUTH_TOKENS",
      "AUTH_TOKENS_FILE",
      "AUTH_USERS",
      "AUTH_USERS_FILE",
      "AUTH_DISABLED",
    ]) {
      expect(res.stderr).toContain(name);
    }
  });
});
