export { startConnector, POSITIONS_BUCKET } from "./connector.js";
export { ConnectorConfigError, readYamlFile, validateYaml } from "./config-file.js";
export { ConnectorFileBase, loadConnectorFile } from "./definition.js";
export { runConnectorProcess, ConnectorEnv } from "./run.js";
export { createConnectorMetrics } from "./metrics.js";
export type { Connector, ConnectorOptions } from "./connector.js";
export type { YamlFile } from "./config-file.js";
export type { ConnectorDefinition, LoadedConnector } from "./definition.js";
export type { ConnectorMetrics } from "./metrics.js";
export type {
  EventDraft,
  PublishOutcome,
  PositionStore,
  Source,
  SourceContext,
} from "./source.js";
