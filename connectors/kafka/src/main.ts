import { runConnectorProcess } from "@ferry/connector-sdk";
import { kafkaConnector } from "./index.js";

await runConnectorProcess(kafkaConnector, process.argv.slice(2), process.env);
