import type { KafkaMessage } from "kafkajs";
import type { EventDraft } from "@ferry/connector-sdk";

/** CloudEvents `type` of a record. */
export const RECORD_TYPE = "dev.ferry.kafka.record";
/** CloudEvents `type` of the error event that replaces a record over the size limit. */
export const OVERSIZED_TYPE = "dev.ferry.kafka.record.oversized";

/** Extensions set from the record itself; record headers with these names are dropped. */
const RESERVED = new Set(["topic", "partition", "offset", "key", "keyencoding", "timestamp"]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Event id, and with the connector's source the dedupe id: `kafka:<topic>:<partition>:<offset>`. */
export function recordId(topic: string, partition: number, offset: string): string {
  return `kafka:${topic}:${partition}:${offset}`;
}

/** Size counted against `maxRecordBytes`: key, value and headers. */
export function recordSize(m: KafkaMessage): number {
  let size = (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    size += name.length + [value ?? []].flat().reduce((n, v) => n + v.length, 0);
  }
  return size;
}

/**
 * Extension name of a Kafka field or record header: `kafka` + lower-case alphanumerics, at most
 * 20 (the CloudEvents limit). The router sends extension `x` as HTTP header `ce-x`, so the
 * OpenFaaS connector's `X-Kafka-Partition` is `Ce-Kafkapartition` here.
 */
export function kafkaExtension(name: string): string {
  return ("kafka" + name.toLowerCase().replace(/[^a-z0-9]/g, "")).slice(0, 20);
}

/** A header-safe text form of bytes: UTF-8 without control characters, else undefined. */
function text(bytes: Buffer): string | undefined {
  try {
    const s = utf8.decode(bytes);
    return [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f) ? undefined : s;
  } catch {
    return undefined;
  }
}

/** Partition, offset, key (base64 when binary) and record headers as extensions. */
export function recordExtensions(
  topic: string,
  partition: number,
  m: KafkaMessage,
): Record<string, string> {
  const ext: Record<string, string> = {
    [kafkaExtension("topic")]: topic,
    [kafkaExtension("partition")]: String(partition),
    [kafkaExtension("offset")]: m.offset,
    [kafkaExtension("timestamp")]: m.timestamp,
  };
  for (const [name, raw] of Object.entries(m.headers ?? {})) {
    const key = name.toLowerCase().replace(/[^a-z0-9]/g, "");
    const first = Array.isArray(raw) ? raw[0] : raw;
    const value = first === undefined ? undefined : text(Buffer.from(first));
    if (!key || RESERVED.has(key) || value === undefined) continue;
    ext[kafkaExtension(key)] = value;
  }
  if (m.key) {
    const key = text(m.key);
    ext[kafkaExtension("key")] = key ?? m.key.toString("base64");
    if (key === undefined) ext[kafkaExtension("keyencoding")] = "base64";
  }
  return ext;
}

/** The event of one record. */
export function recordEvent(
  ferryTopic: string,
  topic: string,
  partition: number,
  m: KafkaMessage,
): EventDraft {
  const draft: EventDraft = {
    topic: ferryTopic,
    id: recordId(topic, partition, m.offset),
    type: RECORD_TYPE,
    subject: topic,
    time: new Date(Number(m.timestamp)).toISOString(),
    data: m.value ?? new Uint8Array(),
    extensions: recordExtensions(topic, partition, m),
  };
  const contentType = m.headers?.["content-type"];
  const ct = contentType === undefined ? undefined : text(Buffer.from([contentType].flat()[0]!));
  if (ct) draft.datacontenttype = ct;
  const traceparent = m.headers?.["traceparent"];
  const tp = traceparent === undefined ? undefined : text(Buffer.from([traceparent].flat()[0]!));
  if (tp) draft.traceparent = tp;
  return draft;
}

/** The error event published instead of a record over the size limit. */
export function oversizedEvent(
  errorTopic: string,
  topic: string,
  partition: number,
  m: KafkaMessage,
  limit: number,
): EventDraft {
  const size = recordSize(m);
  return {
    topic: errorTopic,
    id: recordId(topic, partition, m.offset),
    type: OVERSIZED_TYPE,
    subject: topic,
    time: new Date(Number(m.timestamp)).toISOString(),
    datacontenttype: "application/json",
    data: JSON.stringify({ topic, partition, offset: m.offset, size, limit }),
    extensions: {
      [kafkaExtension("topic")]: topic,
      [kafkaExtension("partition")]: String(partition),
      [kafkaExtension("offset")]: m.offset,
    },
  };
}
