import { describe, expect, test } from "vitest";
import { startNats } from "./servers.js";
import { startHttpSink } from "./sink.js";
import { listening } from "./ports.js";
import { startAll } from "./start-all.js";

describe("startAll", () => {
  test("one start fails - the error is thrown and what did start is stopped", async () => {
    let natsPort = 0;
    let sinkPort = 0;
    const nats = startNats().then((n) => ((natsPort = n.port), n));
    const sink = startHttpSink().then((s) => ((sinkPort = s.port), s));
    const missing = Promise.reject(new Error("cannot start kcat"));
    await expect(startAll([nats, sink, missing as Promise<never>])).rejects.toThrow(
      "cannot start kcat",
    );
    expect(natsPort).toBeGreaterThan(0);
    expect(await listening(natsPort)).toBe(false);
    expect(await listening(sinkPort)).toBe(false);
  });

  test("all start - the handles come back in order", async () => {
    const [nats, sink] = await startAll([startNats(), startHttpSink()]);
    try {
      expect(nats.url).toMatch(/^nats:\/\//);
      expect(await listening(sink.port)).toBe(true);
    } finally {
      await Promise.all([nats.stop(), sink.close()]);
    }
  });
});
