import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the sink received. */
export interface SinkRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  receivedAt: number;
}

/** What the sink answers; by default 200 with an empty body. */
export type SinkResponder = (req: SinkRequest) => {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer this much later (a slow receiver). */
  delayMs?: number;
};

/** An HTTP server that records every request, for asserting on callbacks. */
export interface HttpSink {
  /** Base URL, e.g. `http://127.0.0.1:5678`. */
  url: string;
  port: number;
  /** Every request received so far, in order. */
  requests: SinkRequest[];
  /** Replaces the responder. */
  respondWith(responder: SinkResponder): void;
  /** Resolves once `count` requests matching `filter` arrived; rejects after `timeoutMs`. */
  waitFor(
    count: number,
    opts?: { timeoutMs?: number; filter?: (r: SinkRequest) => boolean },
  ): Promise<SinkRequest[]>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts an HTTP sink on a free loopback port (or the given one). */
export async function startHttpSink(opts: { port?: number } = {}): Promise<HttpSink> {
  const requests: SinkRequest[] = [];
  const waiters = new Set<() => void>();
  let responder: SinkResponder = () => ({ status: 200 });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const record: SinkRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
        receivedAt: Date.now(),
      };
      requests.push(record);
      const out = responder(record);
      const answer = (): void => void res.writeHead(out.status, out.headers).end(out.body ?? "");
      if (out.delayMs) setTimeout(answer, out.delayMs);
      else answer();
      for (const wake of waiters) wake();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respondWith: (r) => void (responder = r),
    waitFor(count, { timeoutMs = 30_000, filter = () => true } = {}) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hits = requests.filter(filter);
          if (hits.length < count) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hits);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `sink got ${requests.filter(filter).length} of ${count} requests in ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
