import { runConnectorProcess } from "@ferry/connector-sdk";
import { webhookConnector } from "./index.js";

await runConnectorProcess(webhookConnector, process.argv.slice(2), process.env);
