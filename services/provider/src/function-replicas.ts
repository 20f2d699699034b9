import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import type { FunctionSpec } from "@ferry/contracts";
import { sleep } from "@ferry/runtime";
import type { ProviderMetrics } from "./metrics.js";
import { startReplica, type Replica } from "./replica.js";

/** One replica slot: a watchdog starting, serving, or stopping. */
interface Slot {
  id: string;
  state: "starting" | "ready" | "stopping";
  replica?: Replica;
  readyAt?: number;
  healthFailures: number;
  /** Settles when the start sequence has spawned the replica (or given up). */
  starting: Promise<void>;
  stopped?: Promise<void>;
}

/** What {@link FunctionReplicas} needs from the provider. */
export interface ReplicaDeps {
  kv: KV;
  baseDir: string;
  logger: Logger;
  /** Prefix of replica ids, unique per provider run. */
  runId: string;
  /** Time endpoints are unpublished before their replica is stopped, so callers move away. */
  drainMs: number;
  /** Run the compiled watchdog. */
  compiledWatchdog: boolean;
  metrics: ProviderMetrics;
}

const HEALTH_FAILURES_TO_KILL = 3;
const MAX_BACKOFF_MS = 30_000;

/** The replicas of one function: starts, stops, health-checks and replaces them. */
export class FunctionReplicas {
  #spec: FunctionSpec;
  readonly #deps: ReplicaDeps;
  readonly #log: Logger;
  readonly #slots = new Map<string, Slot>();
  #target = 0;
  #seq = 0;
  #backoffMs = 0;
  #closed = false;

  constructor(spec: FunctionSpec, deps: ReplicaDeps) {
    this.#spec = spec;
    this.#deps = deps;
    this.#log = deps.logger.child({ component: "provider", function: spec.name });
  }

  get spec(): FunctionSpec {
    return this.#spec;
  }
  /** Replicas serving now. */
  get ready(): number {
    return [...this.#slots.values()].filter((s) => s.state === "ready").length;
  }
  /** Replicas starting or serving. */
  get current(): number {
    return [...this.#slots.values()].filter((s) => s.state !== "stopping").length;
  }
  get target(): number {
    return this.#target;
  }
  /** Process ids of the serving watchdogs. */
  get pids(): number[] {
    return [...this.#slots.values()].flatMap((s) =>
      s.state === "ready" && s.replica?.child.pid ? [s.replica.child.pid] : [],
    );
  }

  /** Starts or stops replicas until `n` are starting or serving. */
  scaleTo(n: number): void {
    if (this.#closed) return;
    if (n !== this.#target) this.#log.info({ from: this.#target, to: n }, "scaling");
    this.#target = n;
    while (this.current < n) this.#start();
    while (this.current > n) {
      const live = [...this.#slots.values()].filter((s) => s.state !== "stopping");
      // Starting replicas go first (they serve nobody yet), then the newest.
      const victim = live.find((s) => s.state === "starting") ?? live.at(-1);
      if (!victim) break;
      void this.#stop(victim);
    }
  }

  /** Takes a spec whose process settings did not change (scaling fields apply at the next tick). */
  update(spec: FunctionSpec): void {
    this.#spec = spec;
  }

  /** Replaces every replica with one of the new spec. */
  async replace(spec: FunctionSpec): Promise<void> {
    this.#spec = spec;
    const old = [...this.#slots.values()];
    const n = this.#target;
    this.#target = 0;
    await Promise.all(old.map((s) => this.#stop(s)));
    this.scaleTo(n);
  }

  /** Probes every ready replica; one failing three probes in a row is killed (and replaced). */
  async checkHealth(timeoutMs: number): Promise<void> {
    const ready = [...this.#slots.values()].filter((s) => s.state === "ready" && s.replica);
    await Promise.all(
      ready.map(async (slot) => {
        const ok = await fetch(`${slot.replica?.url}/_/health`, {
          signal: AbortSignal.timeout(timeoutMs),
        }).then(
          (r) => r.status === 200,
          () => false,
        );
        slot.healthFailures = ok ? 0 : slot.healthFailures + 1;
        if (slot.healthFailures >= HEALTH_FAILURES_TO_KILL && slot.state === "ready") {
          this.#log.warn({ replica: slot.id }, "replica failed its health checks, killing it");
          slot.replica?.child.kill("SIGKILL");
        }
      }),
    );
  }

  /** Stops every replica. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#target = 0;
    await Promise.all([...this.#slots.values()].map((s) => this.#stop(s)));
  }

  #start(): void {
    const id = `${this.#deps.runId}-${this.#seq++}`;
    const slot: Slot = { id, state: "starting", healthFailures: 0, starting: Promise.resolve() };
    this.#slots.set(slot.id, slot);
    slot.starting = this.#launch(slot, this.#backoffMs).catch((err: unknown) =>
      this.#log.error({ err }, "replica start failed"),
    );
  }

  /** Spawns the replica of `slot` and publishes it; a slot stopped meanwhile is left to #stop. */
  async #launch(slot: Slot, delay: number): Promise<void> {
    if (delay > 0) await sleep(delay);
    if (slot.state === "stopping") return;
    const started = performance.now();
    try {
      slot.replica = await startReplica(this.#spec, this.#deps.baseDir, this.#log, {
        compiled: this.#deps.compiledWatchdog,
      });
    } catch (err) {
      this.#log.error({ err, replica: slot.id }, "replica did not start");
      this.#slots.delete(slot.id);
      this.#bumpBackoff();
      return this.scaleTo(this.#target);
    }
    if ((slot.state as Slot["state"]) === "stopping") return;
    slot.state = "ready";
    slot.readyAt = Date.now();
    const fn = { function_name: this.#spec.name };
    this.#deps.metrics.startSeconds.observe(fn, (performance.now() - started) / 1000);
    slot.replica.child.once("exit", (code, signal) => this.#exited(slot, code, signal));
    await this.#deps.kv.put(
      this.#key(slot),
      JSON.stringify({ function: this.#spec.name, replica: slot.id, url: slot.replica.url }),
    );
  }

  /** Unpublishes, waits for callers to move away, stops the watchdog; waits for a start in flight. */
  #stop(slot: Slot): Promise<void> {
    if (slot.stopped) return slot.stopped;
    const wasReady = slot.state === "ready";
    slot.state = "stopping";
    slot.stopped = (async () => {
      await slot.starting;
      if (wasReady) {
        // Bounded: at shutdown NATS may already be gone, and the replica must stop regardless.
        await Promise.race([this.#deps.kv.delete(this.#key(slot)).catch(() => {}), sleep(1_000)]);
        await sleep(this.#deps.drainMs);
      }
      await slot.replica?.stop();
      this.#slots.delete(slot.id);
      if (slot.replica) this.#log.info({ replica: slot.id }, "replica stopped");
    })();
    return slot.stopped;
  }

  #exited(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.state === "stopping") return;
    this.#slots.delete(slot.id);
    void this.#deps.kv.delete(this.#key(slot)).catch(() => {});
    const livedMs = Date.now() - (slot.readyAt ?? Date.now());
    if (livedMs > 10_000) this.#backoffMs = 0;
    this.#bumpBackoff();
    this.#deps.metrics.restarts.inc({ function_name: this.#spec.name });
    this.#log.warn(
      { replica: slot.id, code, signal, restartInMs: this.#backoffMs },
      "replica exited, replacing it",
    );
    this.scaleTo(this.#target);
  }

  #bumpBackoff(): void {
    this.#backoffMs = Math.min(Math.max(this.#backoffMs * 2, 250), MAX_BACKOFF_MS);
  }

  #key(slot: Slot): string {
    return `r.${this.#spec.name}.${slot.id}`;
  }
}
