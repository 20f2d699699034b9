import { z } from "zod";
import { Topic } from "@ferry/contracts";
import { Duration, Port } from "@ferry/runtime";

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name");

/** MinIO webhook target: requests must carry `Authorization: Bearer <token>`. */
export const MinioPush = z
  .strictObject({
    /** The token itself (prefer `tokenEnv`: files get committed). */
    token: z.string().min(1).optional(),
    /** Environment variable holding the token. */
    tokenEnv: EnvName.optional(),
  })
  .refine((v) => (v.token === undefined) !== (v.tokenEnv === undefined), {
    message: "set exactly one of `token` and `tokenEnv`",
  });
export type MinioPush = z.infer<typeof MinioPush>;

/** Push mode: an HTTP server receiving S3 event notifications. */
export const PushMode = z.strictObject({
  /** Port of the notifications server. */
  port: Port.default(8087),
  /** Interface to bind. */
  host: z.string().default("127.0.0.1"),
  /** Largest notification body accepted, bytes; larger gets 413. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .max(8 * 1024 * 1024)
    .default(1024 * 1024),
  /** Confirm SNS subscriptions by fetching their `SubscribeURL`; else they are logged only. */
  snsConfirm: z.boolean().default(false),
  /** SNS topic ARNs accepted on `/sns`; empty accepts any. */
  snsTopicArns: z.array(z.string()).default([]),
  /** Enables `/minio` for MinIO's webhook target, with its bearer token. */
  minio: MinioPush.optional(),
});
export type PushMode = z.infer<typeof PushMode>;

/** Poll mode: list a bucket on an interval and emit what changed since the last checkpoint. */
export const PollMode = z.strictObject({
  /** Bucket listed. */
  bucket: z.string().min(1),
  /** Only keys under this prefix. */
  prefix: z.string().default(""),
  /** S3 endpoint of an S3-compatible store; unset = AWS. */
  endpoint: z.string().url().optional(),
  /** Region of the bucket. */
  region: z.string().default("us-east-1"),
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible stores need. */
  forcePathStyle: z.boolean().default(true),
  /** Environment variable holding the access key id; unset = the AWS SDK's default chain. */
  accessKeyIdEnv: EnvName.optional(),
  /** Environment variable holding the secret access key. */
  secretAccessKeyEnv: EnvName.optional(),
  /** Time between listings. */
  interval: Duration.default(30_000),
  /** Keys per ListObjectsV2 page. */
  pageSize: z.number().int().min(1).max(1000).default(1000),
});
export type PollMode = z.infer<typeof PollMode>;

/** An S3 connector config file: `push`, `poll` or both. */
export const S3File = z
  .strictObject({
    /** Always `s3`. */
    connector: z.literal("s3"),
    /** CloudEvents `source` of the events; default `/ferry/s3`. */
    source: z.string().min(1).max(256).optional(),
    /** Ferry topic the object events are published on. */
    topic: Topic,
    /** Receive notifications over HTTP. */
    push: PushMode.optional(),
    /** List a bucket on an interval. */
    poll: PollMode.optional(),
  })
  .refine((f) => f.push !== undefined || f.poll !== undefined, {
    message: "set `push`, `poll` or both",
  });
export type S3File = z.infer<typeof S3File>;
