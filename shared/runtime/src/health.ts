import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** Options of {@link startHealthServer}. */
export interface HealthServerOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Interface to bind. Default `0.0.0.0`. */
  host?: string;
  /** Answers `/readyz`: 200 when true, 503 when false. */
  ready: () => boolean;
  /** Registries served together on `/metrics`. */
  registries?: Registry[];
}

/** A running health server. */
export interface HealthServer {
  /** The port actually bound. */
  port: number;
  close(): Promise<void>;
}

/** Serves `/healthz`, `/readyz` and `/metrics` for services that have no HTTP server of their own. */
export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") return void res.writeHead(200).end("ok");
    if (path === "/readyz") {
      const ok = opts.ready();
      return void res.writeHead(ok ? 200 : 503).end(ok ? "ready" : "not ready");
    }
    if (path === "/metrics") {
      void renderMetrics(opts.registries ?? []).then(
        ({ type, body }) => res.writeHead(200, { "content-type": type }).end(body),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host ?? "0.0.0.0", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Renders several registries as one Prometheus text page. */
export async function renderMetrics(
  registries: Registry[],
): Promise<{ type: string; body: string }> {
  const parts = await Promise.all(registries.map((r) => r.metrics()));
  return {
    type: registries[0]?.contentType ?? "text/plain; version=0.0.4; charset=utf-8",
    body: parts.join("\n"),
  };
}
