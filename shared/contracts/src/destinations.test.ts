import { describe, expect, test } from "vitest";
import { CALL_ID_PATTERN } from "./names.js";
import { Destination, destinationCallId } from "./destinations.js";
import { FunctionSpec } from "./function-spec.js";

describe("destinations", () => {
  test("destination - exactly one of function and topic", () => {
    expect(Destination.safeParse({ function: "next" }).success).toBe(true);
    expect(Destination.safeParse({ topic: "orders.done" }).success).toBe(true);
    expect(Destination.safeParse({}).success).toBe(false);
    expect(Destination.safeParse({ function: "a", topic: "b" }).success).toBe(false);
    expect(Destination.safeParse({ topic: "bad topic" }).success).toBe(false);
  });

  test("function spec - onSuccess and onFailure are validated with the spec", () => {
    const base = { name: "a", url: "http://127.0.0.1:1" };
    expect(FunctionSpec.parse({ ...base, onSuccess: { function: "b" } }).onSuccess).toEqual({
      function: "b",
    });
    expect(FunctionSpec.safeParse({ ...base, onFailure: { function: "B!" } }).success).toBe(false);
  });

  test("call id - derived, stable, and valid even from the longest call id", () => {
    expect(destinationCallId("abc", "on-success")).toBe("abc.on-success");
    const long = "x".repeat(128);
    const id = destinationCallId(long, "on-failure");
    expect(id).toMatch(CALL_ID_PATTERN);
    expect(id).toBe(destinationCallId(long, "on-failure"));
    expect(id.endsWith(".on-failure")).toBe(true);
  });
});
