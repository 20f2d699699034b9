import { describe, expect, test } from "vitest";
import { parseFunctionsFile } from "./functions-file.js";

describe("functions file", () => {
  test("functions file - a valid file gives specs with defaults", () => {
    const parsed = parseFunctionsFile({
      version: 1,
      functions: { echo: { watchdog: { fprocess: "node server.js" }, timeout: "30s" } },
    });
    expect(parsed).toEqual({
      ok: true,
      functions: [
        {
          name: "echo",
          queue: "default",
          watchdog: { fprocess: "node server.js", mode: "http" },
          env: {},
          timeout: 30_000,
          minReplicas: 1,
          maxReplicas: 4,
          targetInflight: 10,
          idleTimeout: 300_000,
        },
      ],
    });
  });

  test("functions file - every problem is reported with its path", () => {
    const parsed = parseFunctionsFile({
      functions: {
        Bad_Name: { url: "http://x" },
        echo: { watchdog: { mode: "teleport" }, timeout: "soon" },
        both: { url: "http://x", watchdog: {} },
        extra: { url: "http://x", colour: "red" },
      },
    });
    expect(parsed.ok).toBe(false);
    const paths = parsed.ok ? [] : parsed.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "functions.Bad_Name.name",
        "functions.echo.watchdog.mode",
        "functions.echo.timeout",
        "functions.both",
        "functions.extra",
      ]),
    );
  });
});
