import type { Redis } from "ioredis";
import { FerryError, idempotencyKey } from "@ferry/contracts";

/** Largest accepted `Idempotency-Key`. */
const MAX_KEY_LENGTH = 256;

/**
 * Remembers the first call id queued for each `Idempotency-Key` of a function, in Redis, for
 * `ttlSeconds`. The key is claimed before the publish and released if the publish fails, so a
 * caller that got no 202 can retry with the same key.
 */
export class IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  /** Claims `key` for `callId`; resolves with the first call's id when the key was already used. */
  async claim(fn: string, key: string, callId: string): Promise<string | undefined> {
    if (key.length > MAX_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)) {
      throw new FerryError(
        "BadRequest",
        `Idempotency-Key must be 1-${MAX_KEY_LENGTH} visible ASCII characters`,
      );
    }
    const redisKey = idempotencyKey(fn, key);
    let set: string | null;
    try {
      set = await this.redis.set(redisKey, callId, "EX", this.ttlSeconds, "NX");
    } catch (err) {
      throw new FerryError("Unavailable", "idempotency store unavailable, retry later", {
        cause: err,
      });
    }
    if (set === "OK") return undefined;
    return (await this.redis.get(redisKey)) ?? undefined;
  }

  /** Forgets a claim whose call was not queued. */
  async release(fn: string, key: string, callId: string): Promise<void> {
    const redisKey = idempotencyKey(fn, key);
    if ((await this.redis.get(redisKey).catch(() => null)) === callId) {
      await this.redis.del(redisKey).catch(() => {});
    }
  }
}
