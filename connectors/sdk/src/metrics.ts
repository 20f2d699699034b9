import { Counter, Gauge, type Registry } from "prom-client";

/** A connector's Prometheus metrics. */
export interface ConnectorMetrics {
  /** Events JetStream acked, by topic; duplicate=true when it had the event already. */
  published: Counter<"connector" | "topic" | "duplicate">;
  /** Publish attempts that failed (each retry counts). */
  failures: Counter<"connector" | "topic">;
  /** Seconds between an event's occurrence and its ack, where the source knows it. */
  lag: Gauge<"connector">;
}

/** Registers the connector metrics in `registry`. */
export function createConnectorMetrics(registry: Registry): ConnectorMetrics {
  return {
    published: new Counter({
      name: "connector_events_published_total",
      help: "Events stored in FERRY_EVENTS by this connector",
      labelNames: ["connector", "topic", "duplicate"],
      registers: [registry],
    }),
    failures: new Counter({
      name: "connector_publish_failures_total",
      help: "Failed attempts to publish an event",
      labelNames: ["connector", "topic"],
      registers: [registry],
    }),
    lag: new Gauge({
      name: "connector_lag_seconds",
      help: "Seconds from an event's occurrence to its publish ack",
      labelNames: ["connector"],
      registers: [registry],
    }),
  };
}
