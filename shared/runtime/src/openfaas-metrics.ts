import { Counter, Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS } from "./metrics.js";

/**
 * OpenFaaS metrics recorded by more than one Ferry service. In `ferry up` those services share
 * one registry, so each metric is registered once and then found again by name.
 */
export interface SharedMetrics {
  /** `gateway_function_invocation_started`: function runs begun (sync proxy or worker attempt). */
  started: Counter<"function_name">;
  /** `gateway_functions_seconds`: time a function took, by its status code. */
  seconds: Histogram<"function_name" | "code">;
  /** `queue_worker_messages_submitted_total`: calls published to FERRY_INVOKE. */
  submitted: Counter<"queue_name" | "function_name">;
  /** `http_requests_total`: HTTP requests served, by route, method and code. */
  httpRequests: Counter<"code" | "method" | "path">;
  /** `http_request_duration_seconds`: HTTP request latency, by route, method and code. */
  httpSeconds: Histogram<"code" | "method" | "path">;
}

/** The shared OpenFaaS metrics in `registry`, registering those not there yet. */
export function sharedMetrics(registry: Registry): SharedMetrics {
  return {
    started: counter(registry, "gateway_function_invocation_started", "Function runs begun", [
      "function_name",
    ]),
    seconds: histogram(registry, "gateway_functions_seconds", "Time a function run took", [
      "function_name",
      "code",
    ]),
    submitted: counter(
      registry,
      "queue_worker_messages_submitted_total",
      "Calls published to the invoke stream",
      ["queue_name", "function_name"],
    ),
    httpRequests: counter(registry, "http_requests_total", "HTTP requests served", [
      "code",
      "method",
      "path",
    ]),
    httpSeconds: histogram(registry, "http_request_duration_seconds", "HTTP request latency", [
      "code",
      "method",
      "path",
    ]),
  };
}

/** The counter `name` in `r`, registered there if it is not yet (services sharing a registry). */
export function counter<L extends string>(
  r: Registry,
  name: string,
  help: string,
  labelNames: L[],
) {
  const found = r.getSingleMetric(name);
  if (found) return found as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [r] });
}

/** The histogram `name` in `r` (duration buckets), registered there if it is not yet. */
export function histogram<L extends string>(
  r: Registry,
  name: string,
  help: string,
  labelNames: L[],
) {
  const found = r.getSingleMetric(name);
  if (found) return found as Histogram<L>;
  return new Histogram<L>({ name, help, labelNames, buckets: DURATION_BUCKETS, registers: [r] });
}
