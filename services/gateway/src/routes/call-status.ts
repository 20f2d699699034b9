import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import { CALL_ID_PATTERN, FerryError, callKey } from "@ferry/contracts";

const NUMERIC = ["attempts", "enqueuedAt", "startedAt", "finishedAt", "durationMs", "statusCode"];

/**
 * `GET /async-function/status/:callId`: a call's status hash from Redis (a minimal form of the
 * status API; calls still waiting in the queue have no record yet and answer 404).
 */
export function callStatusRoutes(app: FastifyInstance, opts: { redis: Redis }): void {
  app.get(
    "/async-function/status/:callId",
    async (req: FastifyRequest<{ Params: { callId: string } }>) => {
      const { callId } = req.params;
      if (!CALL_ID_PATTERN.test(callId)) throw new FerryError("BadCallId", "not a call id");
      const hash = await opts.redis.hgetall(callKey(callId));
      if (Object.keys(hash).length === 0) {
        throw new FerryError("CallNotFound", `no status for call "${callId}"`);
      }
      const out: Record<string, string | number> = { ...hash };
      for (const key of NUMERIC) if (hash[key]) out[key] = Number(hash[key]);
      return out;
    },
  );
}
