import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  type ConsumerConfig,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { Streams, Subjects } from "@ferry/contracts";

/** Name of the router's durable consumer, shared by every router replica. */
export const ROUTER_CONSUMER = "ferry-router";

/**
 * Creates or updates the router's durable pull consumer on FERRY_EVENTS. It starts with the
 * events stored when it is first created; later its position is kept by JetStream.
 */
export async function provisionRouterConsumer(
  jsm: JetStreamManager,
  opts: { ackWaitMs: number; maxAckPending: number },
): Promise<string> {
  const config: Partial<ConsumerConfig> = {
    durable_name: ROUTER_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${Subjects.Events}.>`,
    ack_wait: nanos(opts.ackWaitMs),
    max_ack_pending: opts.maxAckPending,
  };
  try {
    await jsm.consumers.add(Streams.Events, config);
  } catch (err) {
    if (!(err instanceof JetStreamApiError)) throw err;
    const { deliver_policy: _d, ...mutable } = config;
    await jsm.consumers.update(Streams.Events, ROUTER_CONSUMER, mutable);
  }
  return ROUTER_CONSUMER;
}
