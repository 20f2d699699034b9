import { CallStatus } from "@ferry/contracts";
import type { DispatchResult } from "./dispatch.js";
import type { FinalOutcome } from "./outcome.js";

/** What results need to know of a call. */
export interface CallInfo {
  attempt: number;
  policy: { attempts: number };
}

/** The HTTP status that stands for a dispatch result. */
export function statusOf(result: DispatchResult): number {
  if (result.kind === "response") return result.statusCode;
  return result.kind === "timeout" ? 504 : 502;
}

/** The outcome of a call from the function's response. */
export function fromResponse(
  call: CallInfo,
  result: Extract<DispatchResult, { kind: "response" }>,
  startedAt: number,
  status: FinalOutcome["status"],
): FinalOutcome {
  return {
    status,
    statusCode: result.statusCode,
    contentType: result.contentType,
    body: result.body,
    attempts: call.attempt,
    maxAttempts: call.policy.attempts,
    startedAt,
    finishedAt: Date.now(),
    durationMs: result.durationMs,
  };
}

/** An outcome Ferry makes up (cancelled, expired…): a JSON error body. */
export function outcome(
  call: CallInfo,
  status: FinalOutcome["status"],
  statusCode: number,
  error: string,
  reason: string,
): FinalOutcome {
  const now = Date.now();
  const code = status === CallStatus.Cancelled ? "FERRY_ERR_CANCELLED" : "FERRY_ERR_CALL_FAILED";
  return {
    status,
    statusCode,
    contentType: "application/json",
    body: Buffer.from(JSON.stringify({ error: { code, message: error } })),
    attempts: call.attempt,
    maxAttempts: call.policy.attempts,
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    error,
    reason,
  };
}
