import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS } from "@ferry/runtime";

/** The queue-worker's Prometheus metrics (OpenFaaS names where they exist). */
export interface WorkerMetrics {
  processed: Counter<"function_name" | "outcome">;
  inflight: Gauge<"function_name">;
  duration: Histogram<"function_name">;
  queueWait: Histogram<"queue_name">;
  redeliveries: Counter<"function_name" | "reason">;
}

/** Registers the worker's metrics in `registry`. */
export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const registers = [registry];
  return {
    processed: new Counter({
      name: "queue_worker_messages_processed_total",
      help: "Calls finished by this worker, by function and outcome",
      labelNames: ["function_name", "outcome"],
      registers,
    }),
    inflight: new Gauge({
      name: "queue_worker_function_invocation_inflight",
      help: "Calls running now",
      labelNames: ["function_name"],
      registers,
    }),
    duration: new Histogram({
      name: "queue_worker_function_duration_seconds",
      help: "Time the function took, per attempt",
      labelNames: ["function_name"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    queueWait: new Histogram({
      name: "queue_worker_queue_wait_seconds",
      help: "Time from acceptance to dispatch",
      labelNames: ["queue_name"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    redeliveries: new Counter({
      name: "queue_worker_redeliveries_total",
      help: "Calls handed back to the queue to run again, by reason",
      labelNames: ["function_name", "reason"],
      registers,
    }),
  };
}
