import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { InvocationHeaders as H } from "./headers.js";
import { EnvelopeError, Invocation, decodeInvocation, encodeInvocation } from "./invocation.js";

/** Fixed seed and a bounded number of runs: the same cases on every CI run, in about a second. */
const RUNS = { seed: 20_261_125, numRuns: 400 };

/** Any string without CR or LF (what an envelope value may hold). */
const line = fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ""));
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,62}$/);
const int = fc.maxSafeNat();

const invocation: fc.Arbitrary<Invocation> = fc
  .record(
    {
      callId: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/),
      function: name,
      queue: name,
      method: fc.stringMatching(/^[A-Z]{1,16}$/),
      path: line.map((s) => "/" + s),
      query: line,
      callbackUrl: fc.webUrl({ validSchemes: ["http", "https"] }),
      enqueuedAt: int,
      deadline: int,
      traceparent: line,
      tracestate: line,
      bodyRef: line.filter((s) => s.length > 0),
      bodySize: int,
      notBefore: int,
      attemptsBefore: int,
      redrives: int,
      headers: fc.dictionary(fc.stringMatching(/^[a-z0-9-]{1,30}$/), line, { maxKeys: 8 }),
    },
    {
      requiredKeys: [
        "callId",
        "function",
        "queue",
        "method",
        "path",
        "query",
        "enqueuedAt",
        "headers",
      ],
    },
  )
  // Only what the schema calls valid (e.g. URLs zod accepts).
  .filter((inv) => Invocation.safeParse(inv).success);

describe("envelope fuzzing", () => {
  test("envelope fuzz - any valid invocation round-trips through encode and decode", () => {
    fc.assert(
      fc.property(invocation, (inv) => {
        expect(decodeInvocation(encodeInvocation(inv))).toEqual(inv);
      }),
      RUNS,
    );
  });

  test("envelope fuzz - a value with CR or LF is refused by the encoder with an EnvelopeError", () => {
    const crlf = fc.tuple(line, fc.constantFrom("\r", "\n", "\r\n"), line).map((p) => p.join(""));
    fc.assert(
      fc.property(
        invocation,
        crlf,
        fc.constantFrom("path", "query", "header"),
        (inv, bad, where) => {
          const evil =
            where === "header"
              ? { ...inv, headers: { ...inv.headers, "x-evil": bad } }
              : { ...inv, [where]: where === "path" ? "/" + bad : bad };
          expect(() => encodeInvocation(evil)).toThrow(EnvelopeError);
        },
      ),
      RUNS,
    );
  });

  test("envelope fuzz - any header pairs decode to a valid invocation or give an EnvelopeError naming the field", () => {
    const known = Object.values(H).filter((h) => h !== H.ForwardPrefix);
    const headerName = fc.oneof(
      fc.constantFrom(...known),
      fc.string({ maxLength: 20 }).map((s) => H.ForwardPrefix + s),
      fc.string({ maxLength: 20 }),
    );
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      int.map(String),
      fc.constantFrom("", "-1", "1e999", "NaN", "0x10", "/"),
    );
    const pairs = fc.oneof(
      fc.array(fc.tuple(headerName, value), { maxLength: 25 }),
      // A valid envelope with one field changed.
      fc
        .tuple(invocation, fc.constantFrom(...known), value)
        .map(([inv, k, v]) =>
          encodeInvocation(inv).map(([n, old]): [string, string] => [n, n === k ? v : old]),
        ),
    );
    fc.assert(
      fc.property(pairs, (p) => {
        let decoded: Invocation;
        try {
          decoded = decodeInvocation(p);
        } catch (err) {
          expect(err).toBeInstanceOf(EnvelopeError);
          expect((err as Error).message).toMatch(/^bad invocation envelope: \w+/);
          return;
        }
        expect(Invocation.safeParse(decoded).success).toBe(true);
      }),
      RUNS,
    );
  });
});
