import type { ConnectorDefinition } from "@ferry/connector-sdk";
import { CronFile } from "./config.js";
import { createCronSource } from "./source.js";

/** The cron connector, for `ferry up`, `ferry connector cron` and its own process. */
export const cronConnector: ConnectorDefinition<CronFile> = {
  kind: "cron",
  schema: CronFile,
  create: (config) => createCronSource(config),
};

export { CronFile, Schedule, MissedPolicy } from "./config.js";
export { createCronSource, positionKey, tickId, TICK_TYPE } from "./source.js";
export { ticksOf, ticksBetween } from "./ticks.js";
export type { Ticks } from "./ticks.js";
