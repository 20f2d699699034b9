import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { FUNCTIONS_BUCKET, FunctionSpec, type FunctionSpecInput } from "@ferry/contracts";

/** The function registry: the KV bucket `ferry_functions`, watched and mirrored in memory. */
export interface FunctionRegistry {
  /** The spec of a function, or undefined when there is no such function. Synchronous. */
  get(name: string): FunctionSpec | undefined;
  /** Every registered function. */
  list(): FunctionSpec[];
  /**
   * Stores a spec (create or replace); every watching service sees it shortly after, this one's
   * {@link get} at once.
   */
  put(spec: FunctionSpecInput): Promise<void>;
  /**
   * Stores a spec only if no function has its name, atomically (two creates of one name: one
   * wins). False when a function has it.
   */
  create(spec: FunctionSpecInput): Promise<boolean>;
  /** Removes a function. */
  remove(name: string): Promise<void>;
  /** Calls `fn` after every change seen by the watcher. Returns an unsubscribe function. */
  onChange(fn: (name: string, spec: FunctionSpec | undefined) => void): () => void;
  /** Stops watching. */
  close(): Promise<void>;
}

/** Options of {@link openFunctionRegistry}. */
export interface RegistryOptions {
  logger: Logger;
  /** Bucket replicas: 1 on one server, 3 in a cluster. */
  replicas?: number;
}

/** Opens (creating if needed) the KV bucket and resolves once its current content is loaded. */
export async function openFunctionRegistry(
  nc: NatsConnection,
  opts: RegistryOptions,
): Promise<FunctionRegistry> {
  const log = opts.logger.child({ component: "registry" });
  const kv = await new Kvm(nc).create(FUNCTIONS_BUCKET, {
    history: 5,
    replicas: opts.replicas ?? 1,
  });
  const specs = new Map<string, FunctionSpec>();
  /** The KV revision each name's entry in `specs` is at. */
  const revisions = new Map<string, number>();
  const listeners = new Set<(name: string, spec: FunctionSpec | undefined) => void>();
  // A change this process wrote is applied when its write returns, and again by the watcher
  // shortly after: the second time (or an older one, arriving late) changes nothing.
  const apply = (name: string, spec: FunctionSpec | undefined, revision: number): void => {
    if (revision <= (revisions.get(name) ?? 0)) return;
    revisions.set(name, revision);
    if (spec) specs.set(name, spec);
    else specs.delete(name);
    for (const fn of listeners) fn(name, spec);
  };
  const watcher = await kv.watch();
  let loaded: () => void = () => {};
  const initial = new Promise<void>((resolve) => (loaded = resolve));
  if ((await kv.status()).values === 0) loaded();

  void (async () => {
    for await (const entry of watcher) {
      const spec = entry.operation === "PUT" ? decode(entry.value, entry.key, log) : undefined;
      apply(entry.key, spec, entry.revision);
      if (!entry.isUpdate && (entry.delta ?? 0) === 0) loaded();
      if (entry.isUpdate) loaded();
    }
  })();
  await initial;
  log.debug({ functions: specs.size }, "function registry loaded");

  return {
    get: (name) => specs.get(name),
    list: () => [...specs.values()],
    // Validated and completed with defaults here, so every reader sees a whole spec.
    put: async (spec) => {
      const whole = FunctionSpec.parse(spec);
      apply(whole.name, whole, await kv.put(whole.name, JSON.stringify(whole)));
    },
    create: async (spec) => {
      const whole = FunctionSpec.parse(spec);
      try {
        apply(whole.name, whole, await kv.create(whole.name, JSON.stringify(whole)));
        return true;
      } catch (err) {
        // JetStream's "wrong last sequence": the name has an entry already.
        if ((err as { code?: number }).code === 10071) return false;
        throw err;
      }
    },
    remove: async (name) => void (await kv.delete(name)),
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    close: async () => watcher.stop(),
  };
}

function decode(value: Uint8Array, key: string, log: Logger): FunctionSpec | undefined {
  try {
    return FunctionSpec.parse(JSON.parse(new TextDecoder().decode(value)));
  } catch (err) {
    log.error({ err, function: key }, "ignoring an invalid function spec in the registry");
    return undefined;
  }
}

export type { KV };
