import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { ConnectorConfigError, loadConnectorFile } from "@ferry/connector-sdk";
import { webhookConnector } from "@ferry/webhook-connector";
import { spawnTs } from "@ferry/testkit";
import { cronConnector } from "../src/index.js";

const BROKEN = join(dirname(fileURLToPath(import.meta.url)), "broken");
const DEFINITIONS = [cronConnector, webhookConnector];

/** Each broken file, the line the error must name and what the reason must say. */
const CORPUS: Array<[file: string, line: number, reason: RegExp]> = [
  ["bad-yaml.yaml", 6, /\(yaml\): Flow sequence/],
  ["unknown-key.yaml", 6, /schedules\.tick\.colour: unknown key "colour"/],
  ["bad-cron.yaml", 4, /schedules\.tick\.cron: invalid cron expression "61 \* \* \* \*".*minute/],
  [
    "bad-timezone.yaml",
    5,
    /schedules\.tick\.timezone: "Mars\/Olympus_Mons" is not an IANA time zone/,
  ],
  ["missing-topic.yaml", 4, /schedules\.tick\.topic: is required/],
  ["cron-and-every.yaml", 4, /schedules\.tick: set exactly one of `cron` and `every`/],
  ["unknown-connector.yaml", 1, /connector: must be one of cron, webhook/],
  ["webhook-bad-verify.yaml", 6, /hooks\.gh\.verify\.type: /],
];

describe("connector config files", () => {
  test.each(CORPUS)(
    "config file - %s gives one line naming file, line and problem",
    async (name, line, reason) => {
      const file = join(BROKEN, name);
      const err = await loadConnectorFile(file, DEFINITIONS).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConnectorConfigError);
      const message = (err as Error).message;
      expect(message).not.toContain("\n");
      expect(message.startsWith(`${file}:${line}: `)).toBe(true);
      expect(message).toMatch(reason);
    },
  );

  test("config file - the example files are valid", async () => {
    const cron = await loadConnectorFile("examples/connectors/cron.yaml", DEFINITIONS);
    const hook = await loadConnectorFile("examples/connectors/webhook.yaml", DEFINITIONS);
    expect([cron.kind, hook.kind]).toEqual(["cron", "webhook"]);
  });

  test("config file - ferry connector cron exits 2 with one stderr line for a broken file", async () => {
    const file = join(BROKEN, "bad-timezone.yaml");
    const proc = spawnTs("services/ferry/src/main.ts", { args: ["connector", "cron", "-c", file] });
    const code = await new Promise<number | null>((r) => proc.child.once("exit", (c) => r(c)));
    expect(code).toBe(2);
    const lines = proc.output().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^cron connector: .*bad-timezone\.yaml:5: schedules\.tick\.timezone: /,
    );
  });
});
