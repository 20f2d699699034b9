import type { ConnectorDefinition } from "@ferry/connector-sdk";
import { KafkaFile } from "./config.js";
import { createKafkaSource } from "./source.js";

/** The Kafka connector, for `ferry up`, `ferry connector kafka` and its own process. */
export const kafkaConnector: ConnectorDefinition<KafkaFile> = {
  kind: "kafka",
  schema: KafkaFile,
  create: (config, env) => createKafkaSource(config, env),
};

export { KafkaFile, Sasl, Tls } from "./config.js";
export { createKafkaSource, kafkaConfigOf, subscriptionOf } from "./source.js";
export {
  OVERSIZED_TYPE,
  RECORD_TYPE,
  kafkaExtension,
  oversizedEvent,
  recordEvent,
  recordExtensions,
  recordId,
  recordSize,
} from "./record.js";
