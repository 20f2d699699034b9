import { runConnectorProcess } from "@ferry/connector-sdk";
import { cronConnector } from "./index.js";

await runConnectorProcess(cronConnector, process.argv.slice(2), process.env);
