import type { FunctionSpec } from "@ferry/contracts";

/** What the autoscaler knows about a function at one tick. */
export interface ScaleInput {
  spec: Pick<FunctionSpec, "minReplicas" | "maxReplicas" | "targetInflight" | "idleTimeout">;
  /** Calls waiting or running. */
  load: number;
  /** Replicas starting or serving. */
  current: number;
  now: number;
  /** Last time the function had load (or a wake-up call). */
  lastBusyAt: number;
  /** Last time the replica count changed. */
  lastChangeAt: number;
  /** Time a lower count must hold before one replica is removed. */
  scaleDownDelayMs: number;
}

/**
 * The replica count to aim for: enough for `load / targetInflight`, between min and max. Up at
 * once; down one replica per `scaleDownDelayMs`; to zero only after `idleTimeout` without load.
 */
export function desiredReplicas(input: ScaleInput): number {
  const { spec, load, current, now } = input;
  let want = Math.ceil(load / spec.targetInflight);
  want = Math.min(Math.max(want, spec.minReplicas), spec.maxReplicas);
  if (load > 0) want = Math.max(want, 1);
  if (want >= current) return want;
  const idle = now - input.lastBusyAt >= spec.idleTimeout;
  if (want === 0 && !idle) want = 1;
  if (want >= current) return current;
  if (want === 0) return 0;
  if (now - input.lastChangeAt < input.scaleDownDelayMs) return current;
  return current - 1;
}
