import {
  AckPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { Streams, Subjects, queueConsumerName, queueFilterSubject } from "@ferry/contracts";

/** Settings of the streams Ferry provisions. */
export interface StreamSettings {
  /** Stream replicas: 1 on one server, 3 in a cluster. */
  replicas: number;
  /** How long JetStream remembers a `Nats-Msg-Id` to drop duplicate publishes. */
  dedupeWindowMs: number;
  /** Largest message (payload and headers) the invoke stream accepts. */
  maxMsgBytes: number;
  /** How long events are kept for replay. */
  eventsMaxAgeMs: number;
  /** How long dead letters are kept. */
  dlqMaxAgeMs: number;
}

/** Defaults for a single local server. */
export const DEFAULT_STREAM_SETTINGS: StreamSettings = {
  replicas: 1,
  dedupeWindowMs: 2 * 60_000,
  maxMsgBytes: 1024 * 1024,
  eventsMaxAgeMs: 7 * 24 * 3_600_000,
  dlqMaxAgeMs: 14 * 24 * 3_600_000,
};

/** Stream configurations for the given settings. */
export function streamConfigs(s: StreamSettings): Array<Partial<StreamConfig> & { name: string }> {
  const common = {
    storage: StorageType.File,
    num_replicas: s.replicas,
    duplicate_window: nanos(s.dedupeWindowMs),
    max_msg_size: s.maxMsgBytes,
  };
  return [
    {
      ...common,
      name: Streams.Invoke,
      subjects: [`${Subjects.Invoke}.>`],
      retention: RetentionPolicy.Workqueue,
      discard: DiscardPolicy.Old,
    },
    {
      ...common,
      name: Streams.Dlq,
      subjects: [`${Subjects.Dlq}.>`],
      retention: RetentionPolicy.Limits,
      max_age: nanos(s.dlqMaxAgeMs),
    },
    {
      ...common,
      name: Streams.Events,
      subjects: [`${Subjects.Events}.>`],
      retention: RetentionPolicy.Limits,
      max_age: nanos(s.eventsMaxAgeMs),
    },
  ];
}

/** Creates Ferry's streams, or updates them to the settings when they exist. Idempotent. */
export async function provisionStreams(
  jsm: JetStreamManager,
  settings: StreamSettings = DEFAULT_STREAM_SETTINGS,
): Promise<void> {
  for (const config of streamConfigs(settings)) {
    try {
      await jsm.streams.add(config);
    } catch (err) {
      if (!isAlreadyInUse(err)) throw err;
      const { retention: _r, storage: _s, ...mutable } = config;
      await jsm.streams.update(config.name, mutable);
    }
  }
}

/** Settings of a queue's durable consumer. */
export interface ConsumerSettings {
  /** How long a delivered call is held before it is redelivered without an ack or progress. */
  ackWaitMs: number;
  /** Deliveries before a call is given up. */
  maxDeliver: number;
  /** Calls delivered and not yet acked, across every worker of the queue. */
  maxAckPending: number;
}

/** Defaults: a short lease kept alive with progress acks while the function runs. */
export const DEFAULT_CONSUMER_SETTINGS: ConsumerSettings = {
  ackWaitMs: 10_000,
  maxDeliver: -1,
  maxAckPending: 10_000,
};

/** Creates or updates the durable pull consumer of one queue. Idempotent. */
export async function provisionQueueConsumer(
  jsm: JetStreamManager,
  queue: string,
  settings: ConsumerSettings = DEFAULT_CONSUMER_SETTINGS,
): Promise<string> {
  const name = queueConsumerName(queue);
  const config: Partial<ConsumerConfig> = {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    filter_subject: queueFilterSubject(queue),
    ack_wait: nanos(settings.ackWaitMs),
    max_deliver: settings.maxDeliver,
    max_ack_pending: settings.maxAckPending,
  };
  try {
    await jsm.consumers.add(Streams.Invoke, config);
  } catch (err) {
    if (!isAlreadyInUse(err)) throw err;
    await jsm.consumers.update(Streams.Invoke, name, config);
  }
  return name;
}

function isAlreadyInUse(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === 10058 || err.code === 10148 || /already in use|exists/i.test(err.message))
  );
}
