import { Agent, type Dispatcher } from "undici";
import { UnrecoverableError } from "bullmq";
import { HttpHeaders, startTimeNanos, type CallbackJob } from "@ferry/contracts";
import {
  BlockedAddressError,
  callWhole,
  createAddressPolicy,
  currentTrace,
  type AddressPolicy,
  type WholeResponse,
} from "@ferry/runtime";
import { guardedConnector } from "./guard.js";
import {
  DEFAULT_RETRY_POLICY,
  RetryableDeliveryError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
} from "./retry.js";
import { createSigner, type Signer } from "./signing.js";

/** How callbacks are delivered: the callbacks service and the queue-worker's first attempt. */
export interface DeliveryOptions {
  /** Timeout of one attempt, connect to last byte. Default 10 s. */
  timeoutMs?: number;
  /** Attempts and backoff. Default 10 attempts over about an hour. */
  retry?: RetryPolicy;
  /** `whsec_` secrets; each attempt carries one signature per secret. None: unsigned. */
  signingSecrets?: readonly string[];
  /** Which addresses callbacks may reach. Default: public addresses only. */
  addressPolicy?: AddressPolicy;
}

/** One callback to send: a callback job's fields, with the body as bytes. */
export type Callback = Omit<CallbackJob, "body" | "attemptsBefore" | "failedBefore"> & {
  body: Uint8Array;
};

/** The callback a queued job stands for. */
export function callbackOf(job: CallbackJob): Callback {
  return { ...job, body: Buffer.from(job.body, "base64") };
}

/** Options of {@link CallbackSender}. */
export interface SenderOptions {
  /** Timeout of one attempt, connect to last byte. Default 10 s. */
  timeoutMs?: number;
  /** Which addresses callbacks may reach. Default: public addresses only. */
  policy?: AddressPolicy;
  /** Signs each attempt; unsigned when absent. */
  signer?: Signer;
  /** Attempts and backoff. */
  retry?: RetryPolicy;
}

/** The callback's address is one the address policy blocks: no attempt can succeed. */
export class RefusedCallbackError extends UnrecoverableError {
  // BullMQ and the worker's failure handler know an unrecoverable error by its name.
  override name = "UnrecoverableError";
}

/** The receiver answered with a status after which no attempt can succeed (410, another 4xx). */
export class RejectedCallbackError extends UnrecoverableError {
  override name = "UnrecoverableError";
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/** POSTs one result to its callback URL with the OpenFaaS and Standard Webhooks headers. */
export class CallbackSender {
  readonly #agent: Dispatcher;
  readonly #timeoutMs: number;
  readonly #signer: Signer | undefined;
  readonly #retry: RetryPolicy;

  /** A sender with the given delivery options. */
  static of(opts: DeliveryOptions): CallbackSender {
    return new CallbackSender({
      timeoutMs: opts.timeoutMs ?? 10_000,
      retry: opts.retry ?? DEFAULT_RETRY_POLICY,
      signer: createSigner(opts.signingSecrets ?? []),
      ...(opts.addressPolicy ? { policy: opts.addressPolicy } : {}),
    });
  }

  /** The attempts and backoff this sender works to. */
  get retry(): RetryPolicy {
    return this.#retry;
  }

  constructor(opts: SenderOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#signer = opts.signer;
    this.#retry = opts.retry ?? DEFAULT_RETRY_POLICY;
    const connect = guardedConnector(opts.policy ?? createAddressPolicy(), this.#timeoutMs);
    this.#agent = new Agent({ keepAliveTimeout: 30_000, connections: 64, connect });
  }

  /**
   * Sends attempt `attempt` (1-based). Resolves with the receiver's status on 2xx; throws
   * {@link RetryableDeliveryError} on network errors, 408, 429 and 5xx while attempts remain,
   * and `UnrecoverableError` on 410, other statuses, blocked addresses or the last attempt.
   */
  async send(job: Callback, attempt: number): Promise<number> {
    try {
      return await this.#attempt(job, attempt);
    } catch (err) {
      if (err instanceof RetryableDeliveryError && attempt >= this.#retry.attempts) {
        throw new UnrecoverableError(`${err.message} (attempt ${attempt}, the last)`);
      }
      throw err;
    }
  }

  async #attempt(job: Callback, attempt: number): Promise<number> {
    const url = new URL(job.url);
    const { body } = job;
    let res: WholeResponse;
    try {
      res = await callWhole(
        this.#agent,
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: "POST",
          headers: {
            ...headersFor(job, attempt),
            ...currentTrace(job),
            ...this.#signer?.headers(job.callId, body),
          },
          body,
        },
        { timeoutMs: this.#timeoutMs, discardBody: true },
      );
    } catch (err) {
      const reason = describe(err);
      if (isBlocked(err)) throw new RefusedCallbackError(`callback refused: ${reason}`);
      throw new RetryableDeliveryError(`callback to ${url.origin} failed: ${reason}`, undefined, {
        cause: err,
      });
    }
    const status = res.statusCode;
    if (status >= 200 && status < 300) return status;
    if (status === 410) throw new RejectedCallbackError("callback receiver answered 410 Gone", 410);
    if (!isRetryableStatus(status)) {
      throw new RejectedCallbackError(`callback receiver answered ${status}`, status);
    }
    const retryAfter = status === 429 || status === 503 ? header(res, "retry-after") : undefined;
    throw new RetryableDeliveryError(
      `callback receiver answered ${status}`,
      parseRetryAfter(retryAfter),
      { statusCode: status },
    );
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** Only Ferry's own headers: caller credentials (Authorization, cookies) never reach receivers. */
function headersFor(job: Callback, attempt: number): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": job.contentType ?? "application/octet-stream",
    [HttpHeaders.CallId]: job.callId,
    [HttpHeaders.FunctionName]: job.function,
    [HttpHeaders.FunctionStatus]: String(job.statusCode),
    [HttpHeaders.DurationSeconds]: job.durationSeconds.toFixed(6),
    // OpenFaaS sends the start time in Unix nanoseconds.
    [HttpHeaders.StartTime]: startTimeNanos(job.startTime, job.startTimeUs),
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

function header(res: WholeResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isBlocked(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof BlockedAddressError || (e as { code?: string }).code === "EBLOCKED") {
      return true;
    }
  }
  return false;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code;
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return (code ? `${code}: ${err.message}` : err.message) + cause;
}

/** Kept for callers of the first version: the retryable delivery error. */
export { RetryableDeliveryError as DeliveryError };
