import { z } from "zod";
import { Topic } from "@ferry/contracts";
import { Duration } from "@ferry/runtime";

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name");

/** SASL authentication, passed to kafkajs; the password is read from an environment variable. */
export const Sasl = z.strictObject({
  /** `plain`, `scram-sha-256` or `scram-sha-512`. */
  mechanism: z.enum(["plain", "scram-sha-256", "scram-sha-512"]),
  /** SASL user name. */
  username: z.string().min(1),
  /** Environment variable holding the password. */
  passwordEnv: EnvName,
});
export type Sasl = z.infer<typeof Sasl>;

/** TLS to the brokers, passed to kafkajs (`true` = system CAs). */
export const Tls = z.union([
  z.boolean(),
  z.strictObject({
    /** PEM file of the CA that signed the brokers' certificates. */
    caFile: z.string().optional(),
    /** Verify the brokers' certificates. */
    rejectUnauthorized: z.boolean().default(true),
  }),
]);
export type Tls = z.infer<typeof Tls>;

/** A Kafka connector config file. */
export const KafkaFile = z.strictObject({
  /** Always `kafka`. */
  connector: z.literal("kafka"),
  /** CloudEvents `source` of the events; default `/ferry/kafka`. */
  source: z.string().min(1).max(256).optional(),
  /** Bootstrap brokers, `host:port`. */
  brokers: z.array(z.string().min(1)).min(1),
  /** Kafka client id. */
  clientId: z.string().min(1).default("ferry-kafka"),
  /** Consumer group; replicas of the connector share it and split the partitions. */
  groupId: z.string().min(1),
  /** Kafka topics to consume; `/regex/` is a pattern matched against the cluster's topics. */
  topics: z.array(z.string().min(1)).min(1),
  /** Where a group without committed offsets starts: the oldest record or only new ones. */
  fromBeginning: z.boolean().default(false),
  /** Ferry topic each record is published on. */
  topic: Topic,
  /** Ferry topic of the error event for a record over `maxRecordBytes`; unset = log and skip. */
  errorTopic: Topic.optional(),
  /** Largest record (key + value + headers) published, bytes; keep below NATS max_payload. */
  maxRecordBytes: z
    .number()
    .int()
    .positive()
    .max(8 * 1024 * 1024)
    .default(512 * 1024),
  /** Publishes in flight per partition; a partition is not fetched further until they drain. */
  maxInflight: z.number().int().min(1).max(10_000).default(256),
  /** Group session timeout: how soon a crashed replica's partitions move to the others. */
  sessionTimeout: Duration.default(30_000),
  /** Partitions processed at once. */
  partitionsConcurrently: z.number().int().min(1).max(256).default(4),
  /** TLS options for kafkajs. */
  tls: Tls.optional(),
  /** SASL options for kafkajs. */
  sasl: Sasl.optional(),
});
export type KafkaFile = z.infer<typeof KafkaFile>;
