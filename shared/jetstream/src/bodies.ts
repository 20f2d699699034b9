import { Objm, type ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { nanos } from "@nats-io/transport-node";
import { BODIES_BUCKET } from "@ferry/contracts";

/** Options of {@link openBodyStore}. */
export interface BodyStoreOptions {
  /** Bucket replicas: 1 on one server, 3 in a cluster. */
  replicas?: number;
  /**
   * Longest a body is kept. Bodies are deleted when their call is final; this only sweeps those
   * of calls that never finish. Default 7 days.
   */
  maxAgeMs?: number;
}

/** Claim checks: request bodies too large for a JetStream message, kept in an Object Store. */
export interface BodyStore {
  /** Stores `body` under `name` (the call id); resolves once JetStream holds all of it. */
  put(name: string, body: Uint8Array): Promise<void>;
  /** Streams the body of a call, or undefined when it is not (or no longer) stored. */
  get(name: string): Promise<{ size: number; data: ReadableStream<Uint8Array> } | undefined>;
  /** Deletes a call's body; a missing one is not an error. */
  delete(name: string): Promise<void>;
}

/** Opens (creating if needed) the `ferry_bodies` bucket. */
export async function openBodyStore(
  nc: NatsConnection,
  opts: BodyStoreOptions = {},
): Promise<BodyStore> {
  const store: ObjectStore = await new Objm(nc).create(BODIES_BUCKET, {
    replicas: opts.replicas ?? 1,
    ttl: nanos(opts.maxAgeMs ?? 7 * 24 * 3_600_000),
  });
  return {
    async put(name, body) {
      await store.putBlob({ name }, body, { timeout: 30_000 });
    },
    async get(name) {
      const result = await store.get(name);
      return result ? { size: result.info.size, data: result.data } : undefined;
    },
    async delete(name) {
      try {
        await store.delete(name);
      } catch (err) {
        if (!/not found/i.test((err as Error).message)) throw err;
      }
    },
  };
}
