import { readFileSync } from "node:fs";
import {
  Kafka,
  logLevel,
  type Consumer,
  type EachBatchPayload,
  type KafkaConfig,
  type SASLOptions,
} from "kafkajs";
import type { Logger } from "pino";
import type { Source, SourceContext } from "@ferry/connector-sdk";
import type { KafkaFile } from "./config.js";
import { oversizedEvent, recordEvent, recordSize } from "./record.js";

/** How long a stopping connector waits for the acks of a batch before leaving it uncommitted. */
const STOP_GRACE_MS = 3_000;
/** Heartbeats while a batch waits for JetStream, so a slow publish does not lose the group. */
const HEARTBEAT_MS = 1_000;

/** kafkajs client options (brokers, TLS, SASL) from the config file and the environment. */
export function kafkaConfigOf(
  config: KafkaFile,
  env: Record<string, string | undefined>,
): KafkaConfig {
  const kc: KafkaConfig = {
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: logLevel.NOTHING,
  };
  if (config.tls !== undefined) {
    kc.ssl =
      typeof config.tls === "boolean"
        ? config.tls
        : {
            rejectUnauthorized: config.tls.rejectUnauthorized,
            ...(config.tls.caFile ? { ca: [readFileSync(config.tls.caFile, "utf8")] } : {}),
          };
  }
  if (config.sasl) {
    const password = env[config.sasl.passwordEnv];
    if (!password)
      throw new Error(`sasl: environment variable ${config.sasl.passwordEnv} is not set`);
    kc.sasl = {
      mechanism: config.sasl.mechanism,
      username: config.sasl.username,
      password,
    } as SASLOptions;
  }
  return kc;
}

/** `/regex/` entries become patterns, others exact topic names. */
export function subscriptionOf(topics: string[]): Array<string | RegExp> {
  return topics.map((t) =>
    t.length > 2 && t.startsWith("/") && t.endsWith("/") ? new RegExp(t.slice(1, -1)) : t,
  );
}

/**
 * The Kafka source: a consumer group whose records are published in order per partition; a
 * partition's offset is committed only after every record before it is in JetStream.
 */
export function createKafkaSource(
  config: KafkaFile,
  env: Record<string, string | undefined>,
): Source {
  const kafka = new Kafka(kafkaConfigOf(config, env));
  let consumer: Consumer | undefined;
  let stopping: (() => void) | undefined;
  const stopped = new Promise<void>((r) => (stopping = r));
  return {
    kind: "kafka",
    async start(ctx) {
      consumer = kafka.consumer({
        groupId: config.groupId,
        allowAutoTopicCreation: false,
        sessionTimeout: config.sessionTimeout,
        heartbeatInterval: Math.max(100, Math.floor(config.sessionTimeout / 10)),
      });
      await consumer.connect();
      await consumer.subscribe({
        topics: subscriptionOf(config.topics),
        fromBeginning: config.fromBeginning,
      });
      const c = consumer;
      const log = ctx.logger.child({ groupId: config.groupId });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.partitionsConcurrently,
        eachBatch: (payload) => handleBatch(payload, { c, ctx, config, log, stopped }),
      });
      log.info({ topics: config.topics, brokers: config.brokers }, "kafka consumer running");
    },
    async stop() {
      setTimeout(() => stopping?.(), STOP_GRACE_MS).unref();
      await consumer?.disconnect();
      stopping?.();
    },
  };
}

interface BatchDeps {
  c: Consumer;
  ctx: SourceContext;
  config: KafkaFile;
  log: Logger;
  stopped: Promise<void>;
}

/**
 * Publishes a batch in chunks of `maxInflight`; after a chunk is wholly acked its last offset is
 * committed. While a chunk waits (JetStream slow or down, publishes retried by the SDK) the
 * partition is not fetched further: at most one batch per partition is held in memory.
 */
async function handleBatch(p: EachBatchPayload, d: BatchDeps): Promise<void> {
  const { topic, partition, messages } = p.batch;
  const { config } = d;
  const beat = setInterval(() => void p.heartbeat().catch(() => {}), HEARTBEAT_MS);
  try {
    for (let i = 0; i < messages.length; i += config.maxInflight) {
      if (!p.isRunning() || p.isStale()) return;
      const chunk = messages.slice(i, i + config.maxInflight);
      const acks = chunk.map((m) => {
        if (recordSize(m) <= config.maxRecordBytes) {
          return d.ctx.publish(recordEvent(config.topic, topic, partition, m));
        }
        d.log.warn(
          { topic, partition, offset: m.offset, size: recordSize(m) },
          "record over the size limit",
        );
        if (!config.errorTopic) return Promise.resolve(undefined);
        return d.ctx.publish(
          oversizedEvent(config.errorTopic, topic, partition, m, config.maxRecordBytes),
        );
      });
      const all = Promise.all(acks).then(() => true);
      all.catch(() => {});
      const done = await Promise.race([all, d.stopped.then(() => false)]);
      if (!done) return;
      const last = chunk[chunk.length - 1]!.offset;
      p.resolveOffset(last);
      await commit(d, topic, partition, (BigInt(last) + 1n).toString());
      await p.heartbeat().catch(() => {});
    }
  } finally {
    clearInterval(beat);
  }
}

async function commit(
  d: BatchDeps,
  topic: string,
  partition: number,
  offset: string,
): Promise<void> {
  try {
    await d.c.commitOffsets([{ topic, partition, offset }]);
  } catch (err) {
    // The records are in JetStream; whoever consumes the partition next re-publishes from the
    // last commit and the dedupe id drops the repeats.
    d.log.warn({ err, topic, partition, offset }, "offset not committed");
  }
}
