import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS } from "@ferry/runtime";

type Label = "code" | "method";

/** The watchdog's Prometheus metrics (names as of-watchdog's, plus pool and process starts). */
export interface WatchdogMetrics {
  /** Records one finished call. */
  observe(method: string, code: number, seconds: number): void;
  /** Calls being served now. */
  readonly inflight: Gauge;
  /** Warm processes waiting in the pool. */
  readonly poolSize: Gauge;
  /** Function processes started, by reason (`upstream`, `pool`, `call`). */
  readonly processStarts: Counter<"reason">;
}

/** Registers the watchdog metrics on `registry`. */
export function createMetrics(registry: Registry): WatchdogMetrics {
  const requests = new Counter({
    name: "http_requests_total",
    help: "Calls served, by status code and method",
    labelNames: ["code", "method"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from request to the end of the response, by status code and method",
    labelNames: ["code", "method"],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  // Labelled children cached per method and code: the hot path then skips prom-client's label hashing.
  const children = new Map<string, { count: Counter.Internal; time: Histogram.Internal<Label> }>();
  return {
    observe(method, code, seconds) {
      const key = method + code;
      let child = children.get(key);
      if (child === undefined) {
        const labels = { code: String(code), method };
        child = { count: requests.labels(labels), time: duration.labels(labels) };
        children.set(key, child);
      }
      child.count.inc();
      child.time.observe(seconds);
    },
    inflight: new Gauge({
      name: "http_requests_in_flight",
      help: "Calls being served now",
      registers: [registry],
    }),
    poolSize: new Gauge({
      name: "watchdog_pool_size",
      help: "Warm function processes waiting in the pool",
      registers: [registry],
    }),
    processStarts: new Counter({
      name: "watchdog_process_starts_total",
      help: "Function processes started, by reason",
      labelNames: ["reason"],
      registers: [registry],
    }),
  };
}
