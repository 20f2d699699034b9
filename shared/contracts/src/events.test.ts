import { describe, expect, test } from "vitest";
import {
  CloudEvent,
  TopicPattern,
  decodeEvent,
  encodeEvent,
  eventCallId,
  eventMsgId,
  topicMatches,
  topicOf,
} from "./events.js";
import { CALL_ID_PATTERN } from "./names.js";

describe("events", () => {
  test("topics - patterns match with NATS wildcard rules", () => {
    expect(topicMatches("orders.*", "orders.created")).toBe(true);
    expect(topicMatches("orders.*", "orders.created.eu")).toBe(false);
    expect(topicMatches("orders.>", "orders.created.eu")).toBe(true);
    expect(topicMatches("orders.>", "orders")).toBe(false);
    expect(topicMatches("orders.created", "orders.created")).toBe(true);
    expect(topicMatches("*.created", "users.created")).toBe(true);
    expect(TopicPattern.safeParse("a.>.b").success).toBe(false);
    expect(TopicPattern.safeParse("a..b").success).toBe(false);
    expect(topicOf("ferry.events.orders.created")).toBe("orders.created");
    expect(topicOf("ferry.invoke.default.fn")).toBeUndefined();
  });

  test("cloudevents - binary-mode headers round-trip, extensions included", () => {
    const ev = CloudEvent.parse({
      specversion: "1.0",
      id: "cron:nightly:2026-01-01T00:00:00.000Z",
      source: "/ferry/cron",
      type: "dev.ferry.cron.tick",
      time: "2026-01-01T00:00:00.000Z",
      datacontenttype: "application/json",
      extensions: { githubevent: "push" },
    });
    const pairs = encodeEvent(ev);
    expect(pairs).toContainEqual(["ce-id", ev.id]);
    expect(pairs).toContainEqual(["content-type", "application/json"]);
    expect(decodeEvent(pairs)).toEqual(ev);
    expect(() => decodeEvent([["ce-id", "x"]])).toThrow(/specversion|source/);
  });

  test("dedupe ids - stable per source and id; call ids are valid and differ per function and replay", () => {
    expect(eventMsgId("/a", "1")).toBe(eventMsgId("/a", "1"));
    expect(eventMsgId("/a", "1")).not.toBe(eventMsgId("/b", "1"));
    const ev = { source: "/ferry/cron", id: "cron:x:2026-01-01T00:00:00.000Z" };
    const ids = [eventCallId(ev, "fn-a"), eventCallId(ev, "fn-b"), eventCallId(ev, "fn-a", "ab12")];
    expect(new Set(ids).size).toBe(3);
    const longest = eventCallId(ev, "f".repeat(63), "ffffffff");
    for (const id of [...ids, longest]) expect(id).toMatch(CALL_ID_PATTERN);
  });
});
