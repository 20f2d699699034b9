import { describe, expect, test } from "vitest";
import { forwardHeaders, rawHeader } from "./headers.js";
import { canonicalHeader } from "./cgi-env.js";

describe("headers", () => {
  test("headers - hop-by-hop and Connection-listed headers are dropped, order kept", () => {
    const raw = [
      "Host",
      "h",
      "Connection",
      "keep-alive, X-Hop",
      "X-Hop",
      "1",
      "Keep-Alive",
      "5",
      "X-A",
      "a",
      "TE",
      "trailers",
    ];
    expect(forwardHeaders(raw, false, "X-Extra", "e")).toEqual([
      "Host",
      "h",
      "X-A",
      "a",
      "X-Extra",
      "e",
    ]);
  });

  test("headers - a request drops Transfer-Encoding and Expect (the client frames the body)", () => {
    expect(
      forwardHeaders(["Transfer-Encoding", "gzip, chunked", "Expect", "100-continue"], true),
    ).toEqual([]);
    expect(forwardHeaders(["Expect", "100-continue"], false)).toEqual(["Expect", "100-continue"]);
  });

  test("headers - rawHeader finds the first value case-insensitively", () => {
    expect(rawHeader(["content-TYPE", "a", "Content-Type", "b"], "content-type")).toBe("a");
    expect(rawHeader(["X", "1"], "content-type")).toBeUndefined();
  });

  test("headers - canonical case as Go's CanonicalMIMEHeaderKey", () => {
    expect(canonicalHeader("content-type")).toBe("Content-Type");
    expect(canonicalHeader("X-CALL-ID")).toBe("X-Call-Id");
    expect(canonicalHeader("etag")).toBe("Etag");
  });
});
