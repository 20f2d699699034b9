import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import type { NatsConnection } from "@ferry/jetstream";
import {
  FINAL_STATUSES,
  FerryError,
  callKey,
  cancelKey,
  cancelSubject,
  type CallStatus,
} from "@ferry/contracts";
import { callIdParam } from "./request-parts.js";

/** What the cancel route needs. */
export interface CancelRouteOptions {
  redis: Redis;
  nc: NatsConnection;
  /** How long a cancel is remembered (at least as long as a call may wait). */
  ttlSeconds: number;
}

/**
 * `DELETE /async-function/:callId`: marks the call cancelled in Redis (a worker that takes it
 * from the queue records `cancelled` and does not run it) and announces the cancel to the workers,
 * one of which aborts the call if it is running. 202 while not final, 409 once it is.
 */
export function asyncCancelRoutes(app: FastifyInstance, opts: CancelRouteOptions): void {
  app.delete(
    "/async-function/:name",
    async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
      const callId = req.params.name;
      callIdParam(callId);
      let status: string | null;
      try {
        status = await opts.redis.hget(callKey(callId), "status");
        if (status && FINAL_STATUSES.has(status as CallStatus)) {
          throw new FerryError("Conflict", `the call is already ${status}`);
        }
        await opts.redis.set(cancelKey(callId), "1", "EX", opts.ttlSeconds);
      } catch (err) {
        if (err instanceof FerryError) throw err;
        throw new FerryError("Unavailable", "cannot cancel now, retry later", { cause: err });
      }
      opts.nc.publish(cancelSubject(callId));
      req.log.info({ callId, status }, "call cancelled");
      return reply.code(202).send({ callId, status: "cancelling" });
    },
  );
}
