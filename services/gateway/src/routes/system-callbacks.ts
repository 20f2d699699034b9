import type { FastifyInstance } from "fastify";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { CallbackState, FerryError, callKey, type CallbackJob } from "@ferry/contracts";
import { callIdParam } from "./request-parts.js";

type Params = { callId: string };

/**
 * Failed callback deliveries: `GET /system/callbacks/failed` lists them, `GET
 * /system/callbacks/:callId` shows one, `POST /system/callbacks/:callId/retry` starts a new
 * round of attempts.
 */
export function systemCallbackRoutes(
  app: FastifyInstance,
  opts: { queue: Queue<CallbackJob>; redis: Redis },
): void {
  app.get<{ Querystring: { limit?: string } }>("/system/callbacks/failed", async (req) => {
    const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 1000);
    const jobs = await opts.queue.getFailed(0, limit - 1);
    return { callbacks: jobs.map(describe) };
  });
  app.get<{ Params: Params }>("/system/callbacks/:callId", async (req) => {
    const job = await findJob(opts.queue, req.params.callId);
    return { ...describe(job), state: await job.getState() };
  });
  app.post<{ Params: Params }>("/system/callbacks/:callId/retry", async (req, reply) => {
    const job = await findJob(opts.queue, req.params.callId);
    if ((await job.getState()) !== "failed") {
      throw new FerryError("BadRequest", `callback of call ${req.params.callId} has not failed`);
    }
    // A fresh round: attempts count from 1 again, whoever made the earlier ones.
    const { attemptsBefore: _made, failedBefore: _why, ...data } = job.data;
    await job.updateData(data);
    await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    await opts.redis.hset(callKey(job.data.callId), { callbackState: CallbackState.Pending });
    req.log.info({ callId: job.data.callId, function: job.data.function }, "callback retried");
    return reply.code(202).send({ callId: job.data.callId, state: CallbackState.Pending });
  });
}

type CallbackJobView = Awaited<ReturnType<Queue<CallbackJob>["getJob"]>>;

async function findJob(
  queue: Queue<CallbackJob>,
  callId: string,
): Promise<NonNullable<CallbackJobView>> {
  callIdParam(callId);
  const job = await queue.getJob(callId);
  if (!job) throw new FerryError("CallNotFound", `no callback for call ${callId}`);
  return job;
}

function describe(job: NonNullable<CallbackJobView>): Record<string, unknown> {
  return {
    callId: job.data.callId,
    function: job.data.function,
    url: job.data.url,
    // The queue-worker's first attempt, then the service's (none of its own when the first
    // attempt ended delivery for good).
    attempts: (job.data.attemptsBefore ?? 0) + (job.data.failedBefore ? 0 : job.attemptsMade),
    lastError: job.failedReason || null,
    failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}
