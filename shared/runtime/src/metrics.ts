import { Registry, collectDefaultMetrics } from "prom-client";

/** A Prometheus registry, with Node's process metrics when `defaults` is true. */
export function createRegistry(opts: { defaults?: boolean; prefix?: string } = {}): Registry {
  const registry = new Registry();
  if (opts.defaults) collectDefaultMetrics({ register: registry, prefix: opts.prefix ?? "" });
  return registry;
}

/** Histogram buckets (seconds) from 100 µs to 5 minutes: sub-millisecond to minute-long calls. */
export const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  30, 60, 120, 300,
];

export { Registry };
