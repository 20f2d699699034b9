import type { Redis } from "ioredis";
import { CallStatus, CallbackState, callKey, resultKey, type Invocation } from "@ferry/contracts";

/**
 * Writes `queued` only if the call has no record yet — a fast worker may already have marked it
 * running, or the id repeats an earlier call — and sets the TTL with it: one atomic round trip.
 * Returns 1 when it created the record.
 */
const QUEUED_SCRIPT = `
if redis.call('HSETNX', KEYS[1], 'status', ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`;

type WithQueued = Redis & {
  ferryQueued(key: string, ttl: number, status: string, ...fields: string[]): Promise<number>;
};

/** Call status as the gateway reads and writes it. */
export interface StatusStore {
  /** Records a call as queued unless it has a record; true when this created it. */
  queued(inv: Invocation): Promise<boolean>;
  /** Removes a record {@link queued} created for a call that was then not accepted. */
  forget(callId: string): Promise<void>;
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
      const created = await r.ferryQueued(
        callKey(inv.callId),
        ttlSeconds,
        CallStatus.Queued,
        ...Object.entries(fields).flat(),
      );
      return created === 1;
    },
    async forget(callId) {
      await redis.del(callKey(callId));
    },
    get: (callId) => redis.hgetall(callKey(callId)),
    result: (callId) => redis.getBuffer(resultKey(callId)),
  };
}
