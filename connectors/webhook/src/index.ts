import type { ConnectorDefinition } from "@ferry/connector-sdk";
import { WebhookFile } from "./config.js";
import { createWebhookSource } from "./source.js";

/** The webhook connector, for `ferry up`, `ferry connector webhook` and its own process. */
export const webhookConnector: ConnectorDefinition<WebhookFile> = {
  kind: "webhook",
  schema: WebhookFile,
  create: (config, env) => createWebhookSource(config, env),
};

export { WebhookFile, Hook, Verify } from "./config.js";
export { createWebhookSource, extensionName } from "./source.js";
export { verifierOf } from "./verify.js";
export type { WebhookSource } from "./source.js";
export type { Verdict, Verifier } from "./verify.js";
