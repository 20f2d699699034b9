import { Agent, type Dispatcher } from "undici";
import { UnrecoverableError } from "bullmq";
import { HttpHeaders, type CallbackJob } from "@ferry/contracts";

/** A delivery attempt that the receiver refused or that did not get through; BullMQ retries it. */
export class DeliveryError extends Error {
  override name = "DeliveryError";
  readonly code = "FERRY_ERR_CALLBACK_FAILED";
}

/** POSTs one result to its callback URL with the OpenFaaS headers. */
export class CallbackSender {
  readonly #agent: Dispatcher;
  readonly #timeoutMs: number;

  constructor(opts: { timeoutMs?: number } = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  }

  /**
   * Sends the callback. Resolves with the receiver's status on 2xx; throws {@link DeliveryError}
   * (retried) on network errors and other statuses, and `UnrecoverableError` on 410 Gone.
   */
  async send(job: CallbackJob, attempt: number): Promise<number> {
    const url = new URL(job.url);
    let status: number;
    try {
      const res = await this.#agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: "POST",
        headers: headersFor(job, attempt),
        body: Buffer.from(job.body, "base64"),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      status = res.statusCode;
      await res.body.dump();
    } catch (err) {
      throw new DeliveryError(`callback to ${url.origin} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (status === 410) throw new UnrecoverableError("callback receiver answered 410 Gone");
    if (status < 200 || status >= 300)
      throw new DeliveryError(`callback receiver answered ${status}`);
    return status;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

function headersFor(job: CallbackJob, attempt: number): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": job.contentType ?? "application/octet-stream",
    [HttpHeaders.CallId]: job.callId,
    [HttpHeaders.FunctionName]: job.function,
    [HttpHeaders.FunctionStatus]: String(job.statusCode),
    [HttpHeaders.DurationSeconds]: job.durationSeconds.toFixed(6),
    // OpenFaaS sends the start time in Unix nanoseconds.
    [HttpHeaders.StartTime]: String(job.startTime * 1_000_000),
    [HttpHeaders.Attempt]: String(attempt),
  };
  if (job.traceparent) headers.traceparent = job.traceparent;
  // The call's attempt, when the worker recorded it; the delivery attempt gets its own header.
  if (job.attempt !== undefined) {
    headers[HttpHeaders.Attempt] = String(job.attempt);
    headers["x-ferry-callback-attempt"] = String(attempt);
  }
  if (job.maxAttempts !== undefined) headers[HttpHeaders.MaxAttempts] = String(job.maxAttempts);
  return headers;
}
