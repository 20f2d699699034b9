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

/**
 * Registers the connector metrics in `registry`, or finds them there: in `ferry up` every
 * connector shares one registry and tells its series apart by the `connector` label.
 */
export function createConnectorMetrics(registry: Registry): ConnectorMetrics {
  const found = registry.getSingleMetric("connector_events_published_total");
  if (found) {
    return {
      published: found as ConnectorMetrics["published"],
      failures: registry.getSingleMetric("connector_publish_failures_total") as Counter<
        "connector" | "topic"
      >,
      lag: registry.getSingleMetric("connector_lag_seconds") as Gauge<"connector">,
    };
  }
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
