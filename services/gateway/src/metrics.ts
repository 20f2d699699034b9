import { Counter, Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS, sharedMetrics, type SharedMetrics } from "@ferry/runtime";

/** The gateway's Prometheus metrics (OpenFaaS names where they exist). */
export interface GatewayMetrics {
  invocations: Counter<"function_name" | "code">;
  acceptSeconds: Histogram<"function_name">;
  /** OpenFaaS names also recorded by the queue-worker and router. */
  shared: SharedMetrics;
}

/** Registers the gateway's metrics in `registry`. */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    invocations: new Counter({
      name: "gateway_function_invocation_total",
      help: "Invocations received, by function and response code",
      labelNames: ["function_name", "code"],
      registers: [registry],
    }),
    acceptSeconds: new Histogram({
      name: "gateway_async_accept_seconds",
      help: "Time from request to 202 (publish acknowledged by JetStream)",
      labelNames: ["function_name"],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    shared: sharedMetrics(registry),
  };
}
