import type { FastifyInstance } from "fastify";
import type { SharedMetrics } from "@ferry/runtime";

/**
 * Counts every response in `http_requests_total` and `http_request_duration_seconds`. The path
 * label is the route pattern (`/async-function/:name`), not the URL, so that function names and
 * call ids do not multiply the series.
 */
export function httpMetricsHook(app: FastifyInstance, metrics: SharedMetrics): void {
  app.addHook("onResponse", async (req, reply) => {
    const labels = {
      code: String(reply.statusCode),
      method: req.method,
      path: req.routeOptions.url ?? "unmatched",
    };
    metrics.httpRequests.inc(labels);
    metrics.httpSeconds.observe(labels, reply.elapsedTime / 1000);
  });
}
