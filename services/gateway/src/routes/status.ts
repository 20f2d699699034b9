import type { FastifyInstance } from "fastify";
import { FINAL_STATUSES, FerryError, type CallStatus } from "@ferry/contracts";
import type { StatusStore } from "../status-store.js";
import { callIdParam } from "./request-parts.js";

type Params = { callId: string };

/**
 * `GET /async-function/status/:callId` (where the call is) and `/result/:callId` (what it
 * answered). Both 404 for an unknown or expired call id.
 */
export function statusRoutes(app: FastifyInstance, opts: { store: StatusStore }): void {
  app.get<{ Params: Params }>("/async-function/status/:callId", async (req) => {
    return toStatus(await find(opts.store, req.params.callId));
  });
  app.get<{ Params: Params }>("/async-function/result/:callId", async (req, reply) => {
    const record = await find(opts.store, req.params.callId);
    if (!FINAL_STATUSES.has(record.status as CallStatus)) {
      throw new FerryError("ResultNotReady", `call ${req.params.callId} is ${record.status}`);
    }
    const body = record.resultStored === "1" ? await opts.store.result(req.params.callId) : null;
    if (!body) {
      throw new FerryError(
        "ResultNotStored",
        `the result of call ${req.params.callId} was delivered but not stored (too large)`,
      );
    }
    return reply
      .type(record.contentType || "application/octet-stream")
      .header("x-function-status", record.statusCode ?? "")
      .header("x-call-id", req.params.callId)
      .send(body);
  });
}

async function find(store: StatusStore, callId: string): Promise<Record<string, string>> {
  callIdParam(callId);
  const record = await store.get(callId);
  if (!record.status) throw new FerryError("CallNotFound", `call ${callId} not found`);
  return record;
}

/** The public shape of a call's status. */
export function toStatus(r: Record<string, string>): Record<string, unknown> {
  return {
    callId: r.callId,
    function: r.function,
    status: r.status,
    attempts: num(r.attempts) ?? 0,
    enqueuedAt: time(r.enqueuedAt),
    startedAt: time(r.startedAt),
    finishedAt: time(r.finishedAt),
    statusCode: num(r.statusCode),
    durationMs: num(r.durationMs),
    ...(r.error ? { error: r.error } : {}),
    result:
      r.resultBytes === undefined
        ? null
        : {
            bytes: num(r.resultBytes),
            stored: r.resultStored === "1",
            contentType: r.contentType || null,
          },
    callback: {
      url: r.callbackUrl || null,
      state: r.callbackState ?? "none",
      attempts: num(r.callbackAttempts) ?? 0,
      ...(r.callbackError ? { lastError: r.callbackError } : {}),
    },
  };
}

function num(v: string | undefined): number | null {
  return v === undefined || v === "" ? null : Number(v);
}

function time(v: string | undefined): string | null {
  const ms = num(v);
  return ms === null ? null : new Date(ms).toISOString();
}
