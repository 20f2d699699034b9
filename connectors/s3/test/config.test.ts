import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadConnectorFile } from "@ferry/connector-sdk";
import { REPO_ROOT } from "@ferry/testkit";
import { s3Connector } from "../src/index.js";

describe("s3 config", () => {
  test("s3 config - the example and compose files are valid", async () => {
    for (const path of ["examples/connectors/optional/s3.yaml", "infra/connectors/s3.yaml"]) {
      const loaded = await loadConnectorFile(join(REPO_ROOT, path), [s3Connector]);
      expect(loaded.kind).toBe("s3");
    }
  });

  test("s3 config - a file with neither push nor poll is refused", () => {
    const bad = s3Connector.schema.safeParse({ connector: "s3", topic: "s3.x" });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toContain("set `push`, `poll` or both");
  });
});
