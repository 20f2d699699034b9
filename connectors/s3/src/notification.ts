import { z } from "zod";
import type { EventDraft } from "@ferry/connector-sdk";

/** One record of an S3 event notification (AWS format; MinIO sends the same records). */
export const S3Record = z.looseObject({
  eventName: z.string().min(1),
  eventTime: z.string().optional(),
  s3: z.looseObject({
    bucket: z.looseObject({ name: z.string().min(1) }),
    object: z.looseObject({
      /** URL-encoded (`+` for spaces), as S3 sends it. */
      key: z.string().min(1),
      size: z.number().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});
export type S3Record = z.infer<typeof S3Record>;

/** An S3 notification body: `Records[]`; S3's `s3:TestEvent` has none. */
export const S3Notification = z.looseObject({ Records: z.array(S3Record).default([]) });

/** An SNS HTTP(S) delivery: a `Notification` wraps the S3 body as a JSON string in `Message`. */
export const SnsEnvelope = z.looseObject({
  Type: z.enum(["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]),
  MessageId: z.string(),
  TopicArn: z.string(),
  Message: z.string(),
  SubscribeURL: z.string().url().optional(),
});
export type SnsEnvelope = z.infer<typeof SnsEnvelope>;

/** `photos/my+cat%21.jpg` → `photos/my cat!.jpg`. */
export function decodeKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}

/** `s3:ObjectCreated:Put` (MinIO) and `ObjectCreated:Put` (AWS) are both `ObjectCreated:Put`. */
export function eventType(eventName: string): string {
  return eventName.replace(/^s3:/, "");
}

/** One CloudEvent per record; its id is stable across redeliveries of the same notification. */
export function notificationEvent(topic: string, record: S3Record): EventDraft {
  const { bucket, object } = record.s3;
  const key = decodeKey(object.key);
  const version = object.sequencer ?? object.versionId ?? object.eTag ?? record.eventTime ?? "";
  const extensions: Record<string, string> = { s3bucket: bucket.name };
  if (object.size !== undefined) extensions.s3size = String(object.size);
  if (object.eTag) extensions.s3etag = object.eTag;
  if (object.sequencer) extensions.s3sequencer = object.sequencer;
  const draft: EventDraft = {
    topic,
    id: `s3:${bucket.name}:${key}:${eventType(record.eventName)}:${version}`.slice(0, 256),
    type: eventType(record.eventName),
    subject: key,
    datacontenttype: "application/json",
    data: JSON.stringify(record),
    extensions,
  };
  if (record.eventTime) draft.time = record.eventTime;
  return draft;
}
