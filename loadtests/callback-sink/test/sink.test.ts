import { createHmac, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startCallbackSink, type CallbackSink } from "../src/index.js";

const secret = `whsec_${randomBytes(24).toString("base64")}`;
let sink: CallbackSink;

beforeAll(async () => {
  sink = await startCallbackSink({ port: 0, secrets: [secret] });
});
afterAll(() => sink.close());

function sign(id: string, ts: number, body: string, key = secret): string {
  const mac = createHmac("sha256", Buffer.from(key.slice(6), "base64"))
    .update(`${id}.${ts}.${body}`)
    .digest("base64");
  return `v1,${mac}`;
}

/** Posts a callback whose `webhook-timestamp` is `ts`, the time its signature was made for. */
async function send(
  id: string,
  body: string,
  signature: string,
  ts: number,
  startNs?: bigint,
): Promise<number> {
  const res = await fetch(`${sink.url}/cb`, {
    method: "POST",
    headers: {
      "x-call-id": id,
      "webhook-id": id,
      "webhook-timestamp": String(ts),
      "webhook-signature": signature,
      ...(startNs ? { "x-start-time": String(startNs) } : {}),
    },
    body,
  });
  return res.status;
}

describe("callback sink", () => {
  test("callback sink - counts unique calls and duplicates, refuses bad signatures", async () => {
    const ts = Math.floor(Date.now() / 1000);
    const start = BigInt(Date.now() - 20) * 1_000_000n;
    expect(await send("a", "x", sign("a", ts, "x"), ts, start)).toBe(200);
    expect(await send("a", "x", sign("a", ts, "x"), ts, start)).toBe(200);
    expect(await send("b", "y", sign("b", ts, "y"), ts, start)).toBe(200);
    expect(await send("c", "tampered", sign("c", ts, "original"), ts)).toBe(401);
    const other = `whsec_${randomBytes(24).toString("base64")}`;
    expect(await send("d", "z", sign("d", ts, "z", other), ts)).toBe(401);
    const stats = (await (await fetch(`${sink.url}/stats`)).json()) as Record<string, number>;
    expect(stats).toMatchObject({ received: 3, unique: 2, duplicates: 1, badSignatures: 2 });
    expect(stats.p50Ms).toBeGreaterThanOrEqual(20);
    const metrics = await (await fetch(`${sink.url}/metrics`)).text();
    expect(metrics).toContain("callback_sink_unique_calls 2");
  });
});
