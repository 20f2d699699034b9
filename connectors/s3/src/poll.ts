import { createHash } from "node:crypto";
import { ListObjectsV2Command, type S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { EventDraft, SourceContext } from "@ferry/connector-sdk";
import type { PollMode } from "./config.js";

/** CloudEvents types of poll mode. */
export const PollTypes = { Created: "ObjectCreated", Removed: "ObjectRemoved" } as const;

/** What a listing knows of an object: `<eTag>@<lastModified ms>`, which changes on overwrite. */
export type Listing = Map<string, { etag: string; modified: number; size: number }>;

/** KV key of a bucket/prefix checkpoint (KV keys allow few characters, so it is hashed). */
export function checkpointKey(bucket: string, prefix: string): string {
  return "s3poll." + createHash("sha256").update(`${bucket}/${prefix}`).digest("hex").slice(0, 32);
}

/** S3 client options from the poll settings and the environment. */
export function s3ClientConfig(
  poll: PollMode,
  env: Record<string, string | undefined>,
): S3ClientConfig {
  const cfg: S3ClientConfig = { region: poll.region, forcePathStyle: poll.forcePathStyle };
  if (poll.endpoint) cfg.endpoint = poll.endpoint;
  if (poll.accessKeyIdEnv || poll.secretAccessKeyEnv) {
    const accessKeyId = env[poll.accessKeyIdEnv ?? ""];
    const secretAccessKey = env[poll.secretAccessKeyEnv ?? ""];
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        `poll: ${poll.accessKeyIdEnv} and ${poll.secretAccessKeyEnv} must both be set`,
      );
    }
    cfg.credentials = { accessKeyId, secretAccessKey };
  }
  return cfg;
}

/** Lists every object under the prefix, page by page. */
export async function listAll(s3: S3Client, poll: PollMode, signal: AbortSignal): Promise<Listing> {
  const listing: Listing = new Map();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: poll.bucket,
        Prefix: poll.prefix || undefined,
        MaxKeys: poll.pageSize,
        ContinuationToken: token,
      }),
      { abortSignal: signal },
    );
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      listing.set(o.Key, {
        etag: o.ETag ?? "",
        modified: o.LastModified?.getTime() ?? 0,
        size: o.Size ?? 0,
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return listing;
}

/** Events for what changed from `before` to `after`: created, overwritten (created), removed. */
export function changes(
  topic: string,
  bucket: string,
  before: Listing,
  after: Listing,
): EventDraft[] {
  const events: EventDraft[] = [];
  for (const [key, now] of after) {
    const was = before.get(key);
    if (was && was.etag === now.etag && was.modified === now.modified) continue;
    events.push(objectEvent(topic, bucket, key, PollTypes.Created, now, new Date(now.modified)));
  }
  for (const [key, was] of before) {
    if (!after.has(key))
      events.push(objectEvent(topic, bucket, key, PollTypes.Removed, was, new Date()));
  }
  return events;
}

/**
 * Ids come from the object's version (eTag and modification time), so a poll re-run after a crash
 * (before its checkpoint was stored) publishes the same ids, which JetStream drops.
 */
function objectEvent(
  topic: string,
  bucket: string,
  key: string,
  type: string,
  o: { etag: string; modified: number; size: number },
  time: Date,
): EventDraft {
  const version = `${o.etag.replace(/"/g, "")}@${o.modified}`;
  const raw = `s3poll:${bucket}:${key}:${type}:${version}`;
  const id = raw.length <= 256 ? raw : `s3poll:${createHash("sha256").update(raw).digest("hex")}`;
  return {
    topic,
    id,
    type,
    subject: key,
    time: time.toISOString(),
    datacontenttype: "application/json",
    data: JSON.stringify({
      bucket,
      key,
      size: o.size,
      eTag: o.etag,
      lastModified: new Date(o.modified).toISOString(),
    }),
    extensions: { s3bucket: bucket, s3size: String(o.size), s3etag: o.etag },
  };
}

export function encodeListing(l: Listing): string {
  return JSON.stringify([...l].map(([k, v]) => [k, v.etag, v.modified, v.size]));
}

export function decodeListing(text: string | undefined): Listing {
  const rows = text ? (JSON.parse(text) as Array<[string, string, number, number]>) : [];
  return new Map(rows.map(([k, etag, modified, size]) => [k, { etag, modified, size }]));
}

/**
 * One poll: list, publish the changes, and only when JetStream acked all of them store the new
 * checkpoint. Returns the number of events published.
 */
export async function pollOnce(
  s3: S3Client,
  poll: PollMode,
  topic: string,
  ctx: SourceContext,
): Promise<number> {
  const key = checkpointKey(poll.bucket, poll.prefix);
  const before = decodeListing(await ctx.positions.get(key));
  const after = await listAll(s3, poll, ctx.signal);
  const events = changes(topic, poll.bucket, before, after);
  await Promise.all(events.map((e) => ctx.publish(e)));
  if (events.length > 0 || before.size !== after.size)
    await ctx.positions.put(key, encodeListing(after));
  return events.length;
}
