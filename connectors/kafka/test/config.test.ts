import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ConnectorConfigError, loadConnectorFile } from "@ferry/connector-sdk";
import { REPO_ROOT } from "@ferry/testkit";
import { kafkaConnector, subscriptionOf } from "../src/index.js";

describe("kafka config", () => {
  test("kafka config - the example file is valid and its /regex/ topics become patterns", async () => {
    const file = join(REPO_ROOT, "examples/connectors/optional/kafka.yaml");
    const loaded = await loadConnectorFile(file, [kafkaConnector]);
    expect(loaded.eventSource).toBe("/ferry/kafka/examples");
    expect(subscriptionOf(["orders", "/^audit\\..*/"])).toEqual(["orders", /^audit\..*/]);
  });

  test("kafka config - a bad file names the path and the reason", () => {
    const bad = kafkaConnector.schema.safeParse({
      connector: "kafka",
      brokers: [],
      groupId: "g",
      topics: ["t"],
      topic: "bad topic",
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join("."))).toEqual(["brokers", "topic"]);
    expect(ConnectorConfigError).toBeDefined();
  });
});
