import { Gauge, type Registry } from "prom-client";
import { Streams, queueFilterSubject } from "@ferry/contracts";
import type { NatsConnection } from "@ferry/jetstream";

const NAME = "queue_worker_oldest_message_age_seconds";

/**
 * `queue_worker_oldest_message_age_seconds{queue_name}`: age of the oldest call still stored for
 * each queue (waiting, running or waiting for a retry), read at scrape time. FERRY_INVOKE is a
 * work queue, so the first stored message under a queue's subjects is its oldest unfinished call.
 * Uses the JetStream API's `next_by_subj` directly: the typed client only offers it on direct get.
 */
export function registerQueueAge(
  registry: Registry,
  nc: NatsConnection,
  queues: () => string[],
): void {
  if (registry.getSingleMetric(NAME)) return;
  new Gauge({
    name: NAME,
    help: "Age of the oldest call stored for the queue (0 when it is empty)",
    labelNames: ["queue_name"],
    registers: [registry],
    async collect() {
      this.reset();
      const now = Date.now();
      for (const queue of queues()) {
        const stored = await oldest(nc, queue).catch(() => undefined);
        this.set({ queue_name: queue }, stored === undefined ? 0 : (now - stored) / 1000);
      }
    },
  });
}

/** Storage time (ms) of the first message under the queue's subjects; undefined when none. */
async function oldest(nc: NatsConnection, queue: string): Promise<number | undefined> {
  const req = { seq: 1, next_by_subj: queueFilterSubject(queue) };
  const res = await nc.request(`$JS.API.STREAM.MSG.GET.${Streams.Invoke}`, JSON.stringify(req), {
    timeout: 2_000,
  });
  const body = res.json<{ message?: { time: string } }>();
  return body.message ? Date.parse(body.message.time) : undefined;
}
