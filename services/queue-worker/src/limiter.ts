import type { Redis } from "ioredis";
import { sleep } from "@ferry/runtime";

// Slots are members of a sorted set scored by their expiry (Redis clock), so that the slots of a
// worker that died come back by themselves once they expire.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  return 1
end
return 0`;

const REFRESH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1`;

/** A held slot of a function's concurrency limit. */
export interface Slot {
  /** Pushes the slot's expiry out by another TTL. Errors are ignored (the next tick retries). */
  refresh(): void;
  release(): Promise<void>;
}

/** A per-function concurrency limit shared by every worker: a Redis semaphore with expiring slots. */
export class FunctionLimiter {
  constructor(
    private readonly redis: Redis,
    /** How long a slot lives without a refresh. */
    private readonly slotTtlMs: number,
  ) {}

  /** Waits for a free slot of `fn` (at most `limit` held); resolves undefined when `signal` aborts. */
  async acquire(
    fn: string,
    limit: number,
    holder: string,
    signal?: AbortSignal,
  ): Promise<Slot | undefined> {
    const key = `ferry:limit:${fn}`;
    for (let wait = 20; !signal?.aborted; wait = Math.min(wait * 2, 500)) {
      try {
        const got = await this.redis.eval(ACQUIRE, 1, key, limit, this.slotTtlMs, holder);
        if (got === 1) return this.slot(key, holder);
      } catch {
        // Redis is away: keep waiting, the caller holds the call's lease meanwhile.
      }
      await sleep(wait, signal);
    }
    return undefined;
  }

  private slot(key: string, holder: string): Slot {
    return {
      refresh: () => {
        this.redis.eval(REFRESH, 1, key, this.slotTtlMs, holder).catch(() => {});
      },
      release: async () => {
        await this.redis.zrem(key, holder).catch(() => {});
      },
    };
  }
}
