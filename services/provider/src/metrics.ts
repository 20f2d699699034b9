import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS } from "@ferry/runtime";

/** The provider's Prometheus metrics (OpenFaaS' `gateway_service_count` for ready replicas). */
export interface ProviderMetrics {
  ready: Gauge<"function_name">;
  desired: Gauge<"function_name">;
  restarts: Counter<"function_name">;
  startSeconds: Histogram<"function_name">;
}

/** Registers the provider's metrics in `registry`. */
export function createProviderMetrics(registry: Registry): ProviderMetrics {
  return {
    ready: new Gauge({
      name: "gateway_service_count",
      help: "Ready replicas per function",
      labelNames: ["function_name"],
      registers: [registry],
    }),
    desired: new Gauge({
      name: "ferry_provider_desired_replicas",
      help: "Replicas the autoscaler aims for, per function",
      labelNames: ["function_name"],
      registers: [registry],
    }),
    restarts: new Counter({
      name: "ferry_provider_replica_restarts_total",
      help: "Replicas replaced after they exited or failed their health checks",
      labelNames: ["function_name"],
      registers: [registry],
    }),
    startSeconds: new Histogram({
      name: "ferry_provider_replica_start_seconds",
      help: "Time from spawning a replica to its watchdog answering ready (cold start)",
      labelNames: ["function_name"],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
  };
}
