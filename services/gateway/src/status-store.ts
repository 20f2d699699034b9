import type { Redis } from "ioredis";
import { ScriptBatch, fieldArgs } from "@ferry/runtime";
import {
  CallStatus,
  CallbackState,
  RECENT_CALLS_KEY,
  RECENT_CALLS_MAX,
  STATS_TTL_SECONDS,
  callKey,
  resultKey,
  statsKey,
  timelineKey,
  type Invocation,
  type TimelineEntry,
} from "@ferry/contracts";

/**
 * Writes `queued` only if the call has no record yet — a fast worker may already have marked it
 * running, or the id repeats an earlier call — and sets the TTL with it: one atomic round trip.
 * In the same script, for the dashboard: the call's first timeline entry, its place in the
 * capped recent-calls set (trimmed in batches of 100: ZCARD is O(1), a trim is not), and the
 * accept counters of the current 10-second stats bucket (its TTL set by the bucket's first write).
 * Returns 1 when it created the record.
 *
 * KEYS: call, timeline, recent calls, stats bucket.
 * ARGV: ttl, status, enqueuedAt, callId, timeline entry, recent max, stats ttl, fields…
 */
const QUEUED_SCRIPT = `
if redis.call('HSETNX', KEYS[1], 'status', ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
local max = tonumber(ARGV[6])
if redis.call('ZCARD', KEYS[3]) > max + 100 then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - max)
end
if redis.call('HINCRBY', KEYS[4], 'accepted', 1) == 1 then redis.call('EXPIRE', KEYS[4], ARGV[7]) end
return 1`;

/**
 * Deletes the record only while it still says `queued`. A publish that timed out may have been
 * stored after all; once a worker has written `running` or a final state, that record stays.
 */
const FORGET_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return redis.call('DEL', KEYS[1])`;

type WithForget = Redis & {
  ferryForgetQueued(
    key: string,
    timeline: string,
    recent: string,
    status: string,
    callId: string,
  ): Promise<number>;
};

/** Bytes of a request body kept in the call's status for the dashboard (a preview, not the body). */
export const REQUEST_PREVIEW_BYTES = 256;

/** Call status as the gateway reads and writes it. */
export interface StatusStore {
  /**
   * Records a call as queued unless it has a record; true when this created it. The first
   * {@link REQUEST_PREVIEW_BYTES} of `body` are kept for the dashboard's call page.
   */
  queued(inv: Invocation, body?: Buffer): Promise<boolean>;
  /** Removes a record {@link queued} created for a call that was then not accepted, unless a worker has written to it since. */
  forget(callId: string): Promise<void>;
  /** The call's status hash; empty when unknown or expired. */
  get(callId: string): Promise<Record<string, string>>;
  /** The stored result body, or null. */
  result(callId: string): Promise<Buffer | null>;
}

/** A status store over Redis; `ttlSeconds` as the worker's `STATUS_TTL`. */
export function createStatusStore(redis: Redis, ttlSeconds: number): StatusStore {
  if (!("ferryForgetQueued" in redis)) {
    redis.defineCommand("ferryForgetQueued", { numberOfKeys: 3, lua: FORGET_SCRIPT });
  }
  const r = redis as WithForget;
  // The 202s of one event-loop turn write their records in one script call.
  const queuedBatch = new ScriptBatch(redis, "Queued", QUEUED_SCRIPT);
  return {
    async queued(inv, body) {
      const fields = {
        callId: inv.callId,
        function: inv.function,
        queue: inv.queue,
        attempts: "0",
        enqueuedAt: String(inv.enqueuedAt),
        callbackUrl: inv.callbackUrl ?? "",
        callbackState: inv.callbackUrl ? CallbackState.Pending : CallbackState.None,
      };
      // The request preview rides in the timeline entry (a list), not in the status hash: a long
      // value would turn the hash from Redis' compact encoding into a hashtable.
      const entry: TimelineEntry = {
        t: inv.enqueuedAt,
        e: "enqueued",
        bytes: inv.bodySize ?? body?.length ?? 0,
        ...(body?.length
          ? { preview: body.subarray(0, REQUEST_PREVIEW_BYTES).toString("base64") }
          : {}),
      };
      const keys = [
        callKey(inv.callId),
        timelineKey(inv.callId),
        RECENT_CALLS_KEY,
        statsKey(Date.now()),
      ];
      const created = await queuedBatch.run(keys, [
        ttlSeconds,
        CallStatus.Queued,
        inv.enqueuedAt,
        inv.callId,
        JSON.stringify(entry),
        RECENT_CALLS_MAX,
        STATS_TTL_SECONDS,
        ...fieldArgs(fields),
      ]);
      return created === 1;
    },
    async forget(callId) {
      await r.ferryForgetQueued(
        callKey(callId),
        timelineKey(callId),
        RECENT_CALLS_KEY,
        CallStatus.Queued,
        callId,
      );
    },
    get: (callId) => redis.hgetall(callKey(callId)),
    result: (callId) => redis.getBuffer(resultKey(callId)),
  };
}
