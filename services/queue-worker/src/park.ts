import { Queue, Worker, type Job } from "bullmq";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { PARKED_QUEUE, encodeInvocation, invokeSubject, type Invocation } from "@ferry/contracts";
import { toMsgHdrs } from "@ferry/jetstream";

/** A call waiting outside JetStream until it is due. */
interface ParkedCall {
  subject: string;
  headers: Array<[string, string]>;
  /** The request body, base64. */
  body: string;
  msgId: string;
}

/**
 * Long waits (an `X-Delay`, a long retry backoff) are kept out of the queue's consumer, where they
 * would count against MaxAckPending: the call becomes a delayed BullMQ job that republishes it to
 * FERRY_INVOKE when due. The job is stored before the original message is acked.
 */
export class Parking {
  readonly #queue: Queue<ParkedCall>;
  readonly #worker: Worker<ParkedCall>;

  constructor(opts: { bullRedis: Redis; js: JetStreamClient; logger: Logger; ttlSeconds: number }) {
    const log = opts.logger.child({ component: "parking" });
    this.#queue = new Queue<ParkedCall>(PARKED_QUEUE, {
      connection: opts.bullRedis,
      defaultJobOptions: {
        // Republishing fails only while NATS is away: keep trying.
        attempts: 100_000,
        backoff: { type: "fixed", delay: 1_000 },
        removeOnComplete: { age: opts.ttlSeconds },
        removeOnFail: { age: opts.ttlSeconds },
      },
    });
    this.#worker = new Worker<ParkedCall>(
      PARKED_QUEUE,
      async (job: Job<ParkedCall>) => {
        const { subject, headers, body, msgId } = job.data;
        await opts.js.publish(subject, Buffer.from(body, "base64"), {
          msgID: msgId,
          headers: toMsgHdrs(headers),
        });
        log.debug({ jobId: job.id }, "parked call republished");
      },
      { connection: opts.bullRedis, concurrency: 50 },
    );
    this.#worker.on("error", (err) => log.warn({ err }, "parking worker error"));
  }

  /** Stores the call to be republished at `dueAt` (ms since the epoch) under the unique `id`. */
  async park(inv: Invocation, body: Uint8Array, dueAt: number, id: string): Promise<void> {
    const call: ParkedCall = {
      subject: invokeSubject(inv.queue, inv.function),
      headers: encodeInvocation(inv),
      body: Buffer.from(body).toString("base64"),
      msgId: id,
    };
    await this.#queue.add("republish", call, {
      jobId: id,
      delay: Math.max(dueAt - Date.now(), 0),
    });
  }

  async close(): Promise<void> {
    await this.#worker.close();
    await this.#queue.close();
  }
}
