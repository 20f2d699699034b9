import { runConnectorProcess } from "@ferry/connector-sdk";
import { s3Connector } from "./index.js";

await runConnectorProcess(s3Connector, process.argv.slice(2), process.env);
