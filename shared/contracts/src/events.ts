import { createHash } from "node:crypto";
import { z } from "zod";
import { Subjects } from "./subjects.js";

/**
 * A topic: dot-separated tokens of letters, digits, `_` and `-` (a NATS subject below
 * `ferry.events.`), e.g. `github.push` or `cron.nightly`.
 */
export const TOPIC_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** A topic events are published on. */
export const Topic = z
  .string()
  .max(200)
  .regex(TOPIC_PATTERN, "must be dot-separated tokens of letters, digits, '_' or '-'");

/** A topic pattern with NATS wildcards: `*` matches one token, a final `>` one or more. */
export const TopicPattern = z
  .string()
  .max(200)
  .refine(isTopicPattern, "must be dot-separated tokens, `*` for one token or a final `>`");

function isTopicPattern(value: string): boolean {
  const tokens = value.split(".");
  return tokens.every(
    (t, i) => t === "*" || (t === ">" && i === tokens.length - 1) || /^[A-Za-z0-9_-]+$/.test(t),
  );
}

/** True when `topic` matches `pattern` under NATS subject rules. */
export function topicMatches(pattern: string, topic: string): boolean {
  const p = pattern.split(".");
  const t = topic.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return t.length > i;
    if (i >= t.length || (p[i] !== "*" && p[i] !== t[i])) return false;
  }
  return p.length === t.length;
}

/** CloudEvents 1.0 extension attribute names: lower-case letters and digits, at most 20. */
export const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** The context attributes of a CloudEvent 1.0; `data` travels as the raw message payload. */
export const CloudEvent = z.object({
  specversion: z.literal("1.0"),
  /** Unique per source; with `source` it identifies the event (and dedupes it). */
  id: z.string().min(1).max(256),
  /** URI-reference of the producer, e.g. `/ferry/cron/nightly`. */
  source: z.string().min(1).max(256),
  /** Kind of event, e.g. `dev.ferry.cron.tick`. */
  type: z.string().min(1).max(256),
  subject: z.string().optional(),
  /** RFC 3339 timestamp of the occurrence. */
  time: z.string().optional(),
  /** Media type of the payload; `content-type` in binary mode. */
  datacontenttype: z.string().optional(),
  dataschema: z.string().optional(),
  /** Extension attributes, string-valued. */
  extensions: z.record(z.string().regex(EXTENSION_NAME), z.string()).default({}),
});
export type CloudEvent = z.infer<typeof CloudEvent>;
export type CloudEventInput = z.input<typeof CloudEvent>;

/** Prefix of binary-mode attribute headers: `ce-id`, `ce-source`, `ce-type`… */
export const CE_PREFIX = "ce-";

/** NATS headers of an event besides the `ce-*` attributes. */
export const EventHeaders = {
  ContentType: "content-type",
  Traceparent: "traceparent",
  MsgId: "Nats-Msg-Id",
} as const;

/** HTTP headers the router adds to the invocation of a function triggered by an event. */
export const EventHttpHeaders = {
  Topic: "x-topic",
} as const;

const NAMED = ["id", "source", "type", "subject", "time", "dataschema"] as const;
const HEADER_VALUE = /^[^\r\n]*$/;

/** Encodes an event's attributes as binary-mode NATS header pairs. Rejects CR or LF in values. */
export function encodeEvent(ev: CloudEvent): Array<[string, string]> {
  const pairs: Array<[string, string]> = [[`${CE_PREFIX}specversion`, ev.specversion]];
  for (const key of NAMED) {
    const value = ev[key];
    if (value !== undefined) pairs.push([CE_PREFIX + key, value]);
  }
  for (const [name, value] of Object.entries(ev.extensions)) pairs.push([CE_PREFIX + name, value]);
  if (ev.datacontenttype) pairs.push([EventHeaders.ContentType, ev.datacontenttype]);
  for (const [name, value] of pairs) {
    if (!HEADER_VALUE.test(value)) throw new Error(`event attribute ${name} contains CR or LF`);
  }
  return pairs;
}

/** Decodes binary-mode header pairs into an event; throws naming the first bad attribute. */
export function decodeEvent(pairs: Iterable<readonly [string, string]>): CloudEvent {
  const attrs: Record<string, string> = {};
  const extensions: Record<string, string> = {};
  let datacontenttype: string | undefined;
  for (const [rawName, value] of pairs) {
    const name = rawName.toLowerCase();
    if (name === EventHeaders.ContentType) datacontenttype = value;
    if (!name.startsWith(CE_PREFIX)) continue;
    const attr = name.slice(CE_PREFIX.length);
    if (attr === "specversion" || (NAMED as readonly string[]).includes(attr)) attrs[attr] = value;
    else extensions[attr] = value;
  }
  const parsed = CloudEvent.safeParse({ ...attrs, datacontenttype, extensions });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`not a CloudEvent: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

/** A short stable key of an event from `source` and `id`: 32 hex digits of their SHA-256. */
export function eventKey(source: string, id: string): string {
  return createHash("sha256").update(`${source}\n${id}`).digest("hex").slice(0, 32);
}

/** `Nats-Msg-Id` of an event: replicas publishing the same source and id are deduplicated. */
export function eventMsgId(source: string, id: string): string {
  return `ev-${eventKey(source, id)}`;
}

/**
 * Call id (and `Nats-Msg-Id`) of the invocation of `fn` for an event: the event's key plus the
 * function, so a redelivered event does not invoke twice. A replay adds its own suffix.
 */
export function eventCallId(
  ev: Pick<CloudEvent, "source" | "id">,
  fn: string,
  replay?: string,
): string {
  const base = `${eventMsgId(ev.source, ev.id)}-${fn}`;
  return replay === undefined ? base : `${base}.r${replay}`;
}

/** The topic of an event subject (`ferry.events.<topic>`), or undefined for another subject. */
export function topicOf(subject: string): string | undefined {
  const prefix = `${Subjects.Events}.`;
  return subject.startsWith(prefix) ? subject.slice(prefix.length) : undefined;
}
