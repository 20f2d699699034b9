import { Command } from "commander";
import { runConnectorProcess } from "@ferry/connector-sdk";
import { CONNECTORS } from "./events.js";

/** `ferry connector <kind> -c <file>`: runs one connector alone, as its own process would. */
export function connectorCommand(): Command {
  const kinds = CONNECTORS.map((c) => c.kind);
  return new Command("connector")
    .description(`run one connector alone (${kinds.join(", ")}) with its config file`)
    .argument("<kind>", `connector kind: ${kinds.join(" | ")}`)
    .requiredOption("-c, --config <file>", "connector config file")
    .action(async (kind: string, opts: { config: string }) => {
      const def = CONNECTORS.find((c) => c.kind === kind);
      if (!def) {
        process.stderr.write(`ferry connector: unknown kind "${kind}" (use ${kinds.join(", ")})\n`);
        process.exit(2);
      }
      await runConnectorProcess(def, ["-c", opts.config], process.env);
    });
}
