import type { Redis } from "ioredis";
import { CallStatus, CallbackState, callKey, resultKey, type Invocation } from "@ferry/contracts";

/**
 * Writes `queued` only if no worker has written the call yet (a fast worker may have marked it
 * running before the gateway got here), and sets the TTL with it: one atomic round trip.
 */
const QUEUED_SCRIPT = `
if redis.call('HSETNX', KEYS[1], 'status', ARGV[2]) == 1 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3))
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return 1`;

type WithQueued = Redis & {
  ferryQueued(key: string, ttl: number, status: string, ...fields: string[]): Promise<number>;
};

/** Call status as the gateway reads and writes it. */
export interface StatusStore {
  /** Records an accepted call as queued, unless a worker already recorded it. */
  queued(inv: Invocation): Promise<void>;
  /** The call's status hash; empty when unknown or expired. */
  get(callId: string): Promise<Record<string, string>>;
  /** The stored result body, or null. */
  result(callId: string): Promise<Buffer | null>;
}

/** A status store over Redis; `ttlSeconds` as the worker's `STATUS_TTL`. */
export function createStatusStore(redis: Redis, ttlSeconds: number): StatusStore {
  if (!("ferryQueued" in redis)) {
    redis.defineCommand("ferryQueued", { numberOfKeys: 1, lua: QUEUED_SCRIPT });
  }
  const r = redis as WithQueued;
  return {
    async queued(inv) {
      const fields = {
        callId: inv.callId,
        function: inv.function,
        queue: inv.queue,
        attempts: "0",
        enqueuedAt: String(inv.enqueuedAt),
        callbackUrl: inv.callbackUrl ?? "",
        callbackState: inv.callbackUrl ? CallbackState.Pending : CallbackState.None,
      };
      await r.ferryQueued(
        callKey(inv.callId),
        ttlSeconds,
        CallStatus.Queued,
        ...Object.entries(fields).flat(),
      );
    },
    get: (callId) => redis.hgetall(callKey(callId)),
    result: (callId) => redis.getBuffer(resultKey(callId)),
  };
}
