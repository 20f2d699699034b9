import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Gauge, Registry } from "prom-client";
import { verifySignature } from "./signature.js";
import { CallbackStats } from "./stats.js";

/** Options of {@link startCallbackSink}. */
export interface CallbackSinkOptions {
  /** Port; 0 picks a free one. */
  port: number;
  host?: string;
  /** `whsec_` secrets; when given, unsigned or badly signed callbacks are counted and refused (401). */
  secrets?: string[];
  /** Status answered to callbacks. Default 200. */
  status?: number;
}

/** A running sink. */
export interface CallbackSink {
  url: string;
  port: number;
  stats: CallbackStats;
  close(): Promise<void>;
}

/**
 * Receives callbacks on any POST path. `GET /stats` answers the counts and latency percentiles
 * as JSON, `DELETE /stats` resets them, `GET /metrics` serves them to Prometheus.
 */
export async function startCallbackSink(opts: CallbackSinkOptions): Promise<CallbackSink> {
  const stats = new CallbackStats();
  const registry = new Registry();
  metrics(registry, stats);
  const server = createServer((req, res) => {
    if (req.method === "POST") return receive(req, res, stats, opts);
    if (req.url === "/stats" && req.method === "GET") return json(res, stats.snapshot());
    if (req.url === "/stats" && req.method === "DELETE")
      return (stats.reset(), json(res, stats.snapshot()));
    if (req.url === "/metrics") {
      void registry
        .metrics()
        .then((body) => res.writeHead(200, { "content-type": registry.contentType }).end(body));
      return;
    }
    res.writeHead(404).end();
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host ?? "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function receive(
  req: IncomingMessage,
  res: ServerResponse,
  stats: CallbackStats,
  opts: CallbackSinkOptions,
): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (opts.secrets && opts.secrets.length > 0) {
      const ok = verifySignature(
        opts.secrets,
        {
          id: header(req, "webhook-id"),
          timestamp: header(req, "webhook-timestamp"),
          signature: header(req, "webhook-signature"),
        },
        body,
      );
      if (!ok) {
        stats.badSignatures++;
        return void res.writeHead(401).end();
      }
    }
    const callId = header(req, "x-call-id") ?? header(req, "webhook-id") ?? "";
    stats.record(callId, latencyMs(header(req, "x-start-time")));
    res.writeHead(opts.status ?? 200).end();
  });
}

/** Milliseconds since the call was accepted; `X-Start-Time` is in Unix nanoseconds (OpenFaaS). */
function latencyMs(startTime: string | undefined): number | undefined {
  if (!startTime || !/^\d+$/.test(startTime)) return undefined;
  const startNs = BigInt(startTime);
  const nowNs = BigInt(Date.now()) * 1_000_000n + BigInt(Math.round((performance.now() % 1) * 1e6));
  return Number(nowNs - startNs) / 1e6;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function metrics(registry: Registry, stats: CallbackStats): void {
  new Gauge({
    name: "callback_sink_unique_calls",
    help: "Distinct call ids received",
    registers: [registry],
    collect() {
      this.set(stats.unique);
    },
  });
  new Gauge({
    name: "callback_sink_duplicates",
    help: "Callbacks for a call id already seen",
    registers: [registry],
    collect() {
      this.set(stats.duplicates);
    },
  });
  new Gauge({
    name: "callback_sink_bad_signatures",
    help: "Callbacks refused for their signature",
    registers: [registry],
    collect() {
      this.set(stats.badSignatures);
    },
  });
  new Gauge({
    name: "callback_sink_latency_ms",
    help: "Accept-to-callback latency percentiles, ms",
    labelNames: ["quantile"],
    registers: [registry],
    collect() {
      for (const q of [50, 90, 99])
        this.set({ quantile: String(q / 100) }, stats.percentile(q) ?? 0);
    },
  });
}
