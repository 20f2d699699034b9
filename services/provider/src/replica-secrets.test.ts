import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { FunctionSpec } from "@ferry/contracts";
import { secretEnv } from "./replica.js";

const spec = (secrets: Record<string, unknown>): FunctionSpec =>
  FunctionSpec.parse({ name: "fn", watchdog: { fprocess: "cat", mode: "fork" }, secrets });

describe("function secrets", () => {
  test("secrets - references resolve from the environment and from files relative to the base", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ferry-secrets-"));
    try {
      await writeFile(join(dir, "db"), "pa55word\n");
      const env = secretEnv(spec({ API_KEY: { env: "SRC_KEY" }, DB: { file: "db" } }), dir, {
        SRC_KEY: "k-123",
      });
      expect(env).toEqual({ API_KEY: "k-123", DB: "pa55word" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("secrets - a missing variable or file fails the start naming the reference, not a value", () => {
    expect(() => secretEnv(spec({ K: { env: "NOT_SET_ANYWHERE" } }), "/", {})).toThrow(
      "function fn: secret K: variable NOT_SET_ANYWHERE is not set",
    );
    expect(() => secretEnv(spec({ K: { file: "/no/such/file" } }), "/", {})).toThrow(
      /secret K: cannot read \/no\/such\/file \(ENOENT\)/,
    );
  });
});
