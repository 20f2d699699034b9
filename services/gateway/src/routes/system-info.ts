import type { FastifyInstance } from "fastify";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { FunctionRegistry, NatsConnection } from "@ferry/jetstream";
import { queueViews } from "./system-dashboard.js";

/** What `/system/info` and `/system/queues` need. */
export interface SystemInfoOptions {
  registry: FunctionRegistry;
  jsm: JetStreamManager;
  version: string;
  /** For the oldest call's age per queue. */
  nc?: NatsConnection | undefined;
}

/** `GET /system/info` (OpenFaaS shape) and `GET /system/queues` (waiting, running, redelivered, oldest age and dead letters per queue). */
export function systemInfoRoutes(app: FastifyInstance, opts: SystemInfoOptions): void {
  app.get("/system/info", async () => ({
    provider: {
      provider: "ferry",
      orchestration: "local",
      version: { release: opts.version, sha: "" },
    },
    version: { release: opts.version, sha: "", commit_message: "" },
    arch: process.arch,
    functions: opts.registry.list().length,
  }));
  app.get("/system/queues", async () => queueViews(opts.registry, opts.jsm, opts.nc));
}
