import type { FastifyInstance } from "fastify";
import type { JetStreamManager } from "@nats-io/jetstream";
import { Streams, queueConsumerName } from "@ferry/contracts";
import type { FunctionRegistry } from "@ferry/jetstream";

/** What `/system/info` and `/system/queues` need. */
export interface SystemInfoOptions {
  registry: FunctionRegistry;
  jsm: JetStreamManager;
  version: string;
}

/** `GET /system/info` (OpenFaaS shape) and `GET /system/queues` (depth and in-flight per queue). */
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
  app.get("/system/queues", async () => {
    const queues = new Map<string, string[]>();
    for (const spec of opts.registry.list()) {
      queues.set(spec.queue, [...(queues.get(spec.queue) ?? []), spec.name]);
    }
    return Promise.all(
      [...queues]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(async ([queue, functions]) => {
          const info = await opts.jsm.consumers
            .info(Streams.Invoke, queueConsumerName(queue))
            .catch(() => undefined);
          return {
            queue,
            functions: functions.sort(),
            waiting: info?.num_pending ?? 0,
            running: info?.num_ack_pending ?? 0,
            redelivered: info?.num_redelivered ?? 0,
            consumer: info ? queueConsumerName(queue) : null,
          };
        }),
    );
  });
}
