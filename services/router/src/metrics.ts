import { Counter, Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS } from "@ferry/runtime";

/** The router's Prometheus metrics. */
export interface RouterMetrics {
  /** Events handled, by outcome: routed, unmatched, invalid, failed. */
  events: Counter<"outcome">;
  /** Invocations published, by function and whether JetStream dropped them as duplicates. */
  invocations: Counter<"function_name" | "duplicate">;
  /** Time to publish all invocations of one event. */
  fanoutSeconds: Histogram;
}

/** Registers the router's metrics in `registry`. */
export function createRouterMetrics(registry: Registry): RouterMetrics {
  return {
    events: new Counter({
      name: "router_events_total",
      help: "Events handled by the router, by outcome",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    invocations: new Counter({
      name: "router_invocations_total",
      help: "Invocations published for events; duplicate=true when JetStream had it already",
      labelNames: ["function_name", "duplicate"],
      registers: [registry],
    }),
    fanoutSeconds: new Histogram({
      name: "router_fanout_seconds",
      help: "Time to publish every invocation of one event",
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
  };
}
