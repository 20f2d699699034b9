import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS, sharedMetrics, type SharedMetrics } from "@ferry/runtime";

/** The queue-worker's Prometheus metrics (OpenFaaS names where they exist). */
export interface WorkerMetrics {
  processed: Counter<"function_name" | "outcome">;
  inflight: Gauge<"function_name">;
  duration: Histogram<"function_name">;
  queueWait: Histogram<"queue_name">;
  redeliveries: Counter<"function_name" | "reason">;
  retries: Counter<"function_name">;
  pending: Gauge<"queue_name" | "function_name">;
  dlqSize: Gauge<"queue_name" | "function_name">;
  endToEnd: Histogram<"function_name" | "outcome">;
  /** OpenFaaS names also recorded by the gateway (`ferry up` shares one registry). */
  shared: SharedMetrics;
}

/** Counts of stored messages by subject, for the pending and DLQ gauges. */
export type SubjectCounts = (stream: string) => Promise<Record<string, number>>;

/** Registers the worker's metrics in `registry`. */
export function createWorkerMetrics(registry: Registry, counts?: SubjectCounts): WorkerMetrics {
  const registers = [registry];
  const bySubject = (stream: string) =>
    async function (this: Gauge<"queue_name" | "function_name">): Promise<void> {
      if (!counts) return;
      this.reset();
      const found = await counts(stream).catch(() => ({}));
      for (const [subject, n] of Object.entries(found)) {
        const [, , queue = "", fn = ""] = subject.split(".");
        this.set({ queue_name: queue, function_name: fn }, n);
      }
    };
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
    endToEnd: new Histogram({
      name: "queue_worker_end_to_end_seconds",
      help: "Time from acceptance to the call's final outcome, by outcome",
      labelNames: ["function_name", "outcome"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    redeliveries: new Counter({
      name: "queue_worker_redeliveries_total",
      help: "Calls handed back to the queue to run again, by reason",
      labelNames: ["function_name", "reason"],
      registers,
    }),
    retries: new Counter({
      name: "queue_worker_retries_total",
      help: "Failed attempts that will be tried again",
      labelNames: ["function_name"],
      registers,
    }),
    pending: new Gauge({
      name: "queue_worker_pending_messages",
      help: "Calls stored in FERRY_INVOKE (waiting or running), by queue and function",
      labelNames: ["queue_name", "function_name"],
      registers,
      collect: bySubject("FERRY_INVOKE"),
    }),
    dlqSize: new Gauge({
      name: "queue_worker_dlq_messages",
      help: "Dead letters stored in FERRY_DLQ, by queue and function",
      labelNames: ["queue_name", "function_name"],
      registers,
      collect: bySubject("FERRY_DLQ"),
    }),
    shared: sharedMetrics(registry),
  };
}
