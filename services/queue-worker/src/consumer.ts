import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { Streams, queueConsumerName } from "@ferry/contracts";
import { sleep } from "@ferry/runtime";
import { handleMessage, type CallDeps } from "./handle.js";
import { Leases } from "./lease.js";
import { Semaphore } from "./semaphore.js";

/** What one queue's consumer loop needs. */
export interface QueueLoopDeps extends CallDeps {
  logger: Logger;
  /** Calls run at once from this queue. */
  maxInflight: number;
}

/** A running consumer of one queue. */
export interface QueueLoop {
  queue: string;
  /** Stops pulling, waits for running calls up to `deadlineMs`, hands back the rest. */
  stop(deadlineMs: number): Promise<void>;
}

/** Starts pulling one queue's calls from its durable consumer. */
export async function startQueueLoop(queue: string, deps: QueueLoopDeps): Promise<QueueLoop> {
  const log = deps.logger.child({ component: "consumer", queue });
  const consumer = await deps.js.consumers.get(Streams.Invoke, queueConsumerName(queue));
  const slots = new Semaphore(deps.maxInflight);
  const leases = new Leases(deps.ackWaitMs);
  const running = new Map<JsMsg, AbortController>();
  let stopping = false;
  let batch: ConsumerMessages | undefined;

  const start = (msg: JsMsg): void => {
    const abort = new AbortController();
    running.set(msg, abort);
    const lease = leases.hold(msg);
    void handleMessage(msg, deps, log, abort, lease)
      .catch((err: unknown) => log.error({ err }, "call handling failed"))
      .finally(() => {
        lease.release();
        running.delete(msg);
        slots.release();
      });
  };
  // Pull only as many calls as there are free slots: a call fetched but left waiting in a local
  // buffer would hold no lease, lapse, and run twice on another worker.
  const loop = (async () => {
    while (!stopping) {
      await slots.whenAvailable();
      if (stopping) break;
      try {
        batch = await consumer.fetch({ max_messages: slots.available, expires: 2_000 });
        for await (const msg of batch) {
          await slots.acquire();
          if (stopping) {
            msg.nak();
            slots.release();
          } else start(msg);
        }
      } catch (err) {
        if (!stopping) log.warn({ err }, "pull failed, retrying");
        await sleep(250);
      }
    }
  })();
  log.info({ maxInflight: deps.maxInflight }, "consuming");

  return {
    queue,
    async stop(deadlineMs) {
      stopping = true;
      batch?.stop();
      await loop.catch(() => {});
      const until = Date.now() + deadlineMs;
      while (running.size > 0 && Date.now() < until) await sleep(20);
      // Aborting makes each running call hand its message back (NAK) as it unwinds.
      for (const abort of running.values()) abort.abort();
      const left = running.size;
      while (running.size > 0 && Date.now() < until + 2_000) await sleep(20);
      if (left > 0) log.warn({ handedBack: left }, "calls handed back at shutdown");
      leases.close();
    },
  };
}
