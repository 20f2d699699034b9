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

/**
 * Deletes the record only while it still says `queued`. A publish that timed out may have been
 * stored after all; once a worker has written `running` or a final state, that record stays.
 */
const FORGET_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type WithQueued = Redis & {
  ferryQueued(key: string, ttl: number, status: string, ...fields: string[]): Promise<number>;
  ferryForgetQueued(key: string, status: string): Promise<number>;
};

/** Call status as the gateway reads and writes it. */
export interface StatusStore {
  /** Records a call as queued unless it has a record; true when this created it. */
  queued(inv: Invocation): Promise<boolean>;
  /** Removes a record {@link queued} created for a call that was then not accepted, unless a worker has written to it since. */
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
    redis.defineCommand("ferryForgetQueued", { numberOfKeys: 1, lua: FORGET_SCRIPT });
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
      await r.ferryForgetQueued(callKey(callId), CallStatus.Queued);
    },
    get: (callId) => redis.hgetall(callKey(callId)),
    result: (callId) => redis.getBuffer(resultKey(callId)),
  };
}
