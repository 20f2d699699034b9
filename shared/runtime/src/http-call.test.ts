import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Agent, errors } from "undici";
import { callWhole } from "./http-call.js";

let server: Server;
let origin: string;
/** Requests whose connection the client closed before the server answered. */
let abandoned = 0;
const agent = new Agent({ connections: 4 });

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/chunks") {
      // Three writes: the client sees the body in more than one piece.
      res.writeHead(201, { "content-type": "text/plain", "x-answer": "yes" });
      res.write("one ");
      setTimeout(() => res.write("two "), 5);
      setTimeout(() => res.end("three"), 10);
    } else if (req.url === "/never") {
      req.socket.on("close", () => abandoned++);
    } else {
      req.pipe(res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("callWhole", () => {
  test("a body sent in pieces comes back whole, with status and headers", async () => {
    const res = await callWhole(agent, { origin, path: "/chunks", method: "GET" });
    expect(res.statusCode).toBe(201);
    expect(res.headers["x-answer"]).toBe("yes");
    expect(res.body.toString()).toBe("one two three");
  });

  test("the request body reaches the server; discardBody reads the answer without keeping it", async () => {
    const body = Buffer.from("echo me");
    const kept = await callWhole(agent, { origin, path: "/echo", method: "POST", body });
    expect(kept.body.toString()).toBe("echo me");
    const dropped = await callWhole(
      agent,
      { origin, path: "/echo", method: "POST", body },
      { discardBody: true },
    );
    expect(dropped.statusCode).toBe(200);
    expect(dropped.body.length).toBe(0);
  });

  test("timeoutMs - an answer that never comes rejects as TimeoutError and closes the connection", async () => {
    const before = abandoned;
    const err = await callWhole(
      agent,
      { origin, path: "/never", method: "GET" },
      { timeoutMs: 100 },
    ).catch((e: unknown) => e);
    expect((err as Error).name).toBe("TimeoutError");
    await expect.poll(() => abandoned).toBe(before + 1);
  });

  test("signal - aborting rejects with the signal's reason; an aborted signal sends nothing", async () => {
    const abort = new AbortController();
    const call = callWhole(
      agent,
      { origin, path: "/never", method: "GET" },
      { signal: abort.signal },
    );
    setTimeout(() => abort.abort(new Error("stop now")), 50);
    await expect(call).rejects.toThrow("stop now");
    const gone = AbortSignal.abort(new Error("already"));
    await expect(
      callWhole(agent, { origin, path: "/echo", method: "GET" }, { signal: gone }),
    ).rejects.toThrow("already");
  });

  test("undici's own errors come through: headersTimeout gives HeadersTimeoutError", async () => {
    const err = await callWhole(agent, {
      origin,
      path: "/never",
      method: "GET",
      headersTimeout: 100,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(errors.HeadersTimeoutError);
  });
});
