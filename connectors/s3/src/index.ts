import type { ConnectorDefinition } from "@ferry/connector-sdk";
import { S3File } from "./config.js";
import { createS3Source } from "./source.js";

/** The S3 connector, for `ferry up`, `ferry connector s3` and its own process. */
export const s3Connector: ConnectorDefinition<S3File> = {
  kind: "s3",
  schema: S3File,
  create: (config, env) => createS3Source(config, env),
};

export { S3File, PushMode, PollMode, MinioPush } from "./config.js";
export { createS3Source } from "./source.js";
export {
  S3Notification,
  S3Record,
  SnsEnvelope,
  decodeKey,
  eventType,
  notificationEvent,
} from "./notification.js";
export { PollTypes, changes, checkpointKey, listAll, pollOnce, s3ClientConfig } from "./poll.js";
export { buildPushServer } from "./push.js";
export type { S3Source } from "./source.js";
export type { Listing } from "./poll.js";
