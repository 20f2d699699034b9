import { Agent, request, type IncomingMessage } from "node:http";
import { Pool, type Dispatcher } from "undici";
import type { Logger } from "@ferry/runtime";
import { WatchdogError } from "../errors.js";
import { forwardHeaders, rawHeader } from "../internal/headers.js";
import type { FunctionOutput } from "../internal/output.js";
import type { ProcessStarter } from "../internal/spawner.js";
import { Supervisor } from "../internal/supervisor.js";
import type { ModeRunner, WatchdogResponse } from "./runner.js";

/** Options of {@link createHttpRunner}. */
export interface HttpRunnerOptions {
  /** Starts the function process (each restart too). */
  starter: ProcessStarter;
  /** Where the function listens, e.g. `http://127.0.0.1:3000`; a path is prefixed to every call. */
  upstreamUrl: string;
  /** Upstream path probed by `/_/ready`; without it readiness is "the port accepts". */
  readyPath: string | undefined;
  /** Where the function's stdout and stderr are logged. */
  output: FunctionOutput;
  logger: Logger;
  onProcessStart: () => void;
}

/** http mode: one long-running function process behind a streaming reverse proxy. */
export function createHttpRunner(opts: HttpRunnerOptions): ModeRunner {
  const url = new URL(opts.upstreamUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 80);
  const prefix = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  const log = opts.logger.child({ component: "proxy" });
  // Keep-alive connections, as many as calls in flight; idle ones age out.
  const pool = new Pool(`http://${url.host}`, { connections: null, pipelining: 1 });
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const supervisor = new Supervisor({ ...opts, host, port, onStart: opts.onProcessStart });
  let started = false;
  const target: Target = { pool, prefix, log };

  return {
    run(req, res, timeoutMs) {
      if (!supervisor.up) {
        const err = started
          ? new WatchdogError("BadGateway", "function process is not running; restarting it")
          : new WatchdogError("Unavailable", "function process is not ready");
        return res.fail(err);
      }
      new ProxyCall(target, req, res).start(timeoutMs);
    },
    async start() {
      await supervisor.start();
      started = true;
    },
    ready: () => supervisor.up,
    async checkReady() {
      if (!supervisor.up) return false;
      if (opts.readyPath === undefined) return true;
      return probe(agent, host, port, prefix + opts.readyPath);
    },
    async stop(graceMs) {
      await supervisor.stop(graceMs);
      agent.destroy();
      await pool.destroy();
    },
  };
}

/** Bodies up to this size (by Content-Length) are read whole and sent as one buffer. */
const SMALL_BODY_BYTES = 16 * 1024;

/** Where calls go. */
interface Target {
  pool: Pool;
  prefix: string;
  log: Logger;
}

/**
 * One proxied call on undici's dispatcher API: the request body streams in from `req`, the
 * answer streams out as undici parses it (raw header buffers, `res.write` with backpressure),
 * with no client request or response objects in between.
 */
class ProxyCall implements Dispatcher.DispatchHandler {
  #abort: ((err?: Error) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retried = false;
  #answered = false;
  #resume: (() => void) | undefined;
  /** The body of a small request, read whole before it is sent (kept for a resend). */
  #small: Buffer[] | undefined;

  constructor(
    private readonly target: Target,
    private readonly req: IncomingMessage,
    private readonly res: WatchdogResponse,
  ) {}

  start(timeoutMs: number): void {
    if (timeoutMs > 0) this.#timer = setTimeout(() => this.#onTimeout(), timeoutMs);
    this.res.once("close", () => {
      clearTimeout(this.#timer);
      if (!this.res.writableFinished) this.#abort?.(new Error("client went away"));
    });
    this.#send();
  }

  #send(): void {
    const { req } = this;
    const raw = req.rawHeaders;
    const length = rawHeader(raw, "content-length");
    const chunked = rawHeader(raw, "transfer-encoding") !== undefined;
    // A small body of known length (nearly always here already, in the request's first packet)
    // goes as one buffer: undici then writes head and body in one syscall instead of streaming.
    if (!chunked && length !== undefined && Number(length) <= SMALL_BODY_BYTES && !this.#small) {
      this.#small = [];
      req.on("data", (c: Buffer) => this.#small?.push(c));
      req.once("end", () => {
        // Answered meanwhile (timed out, or the client went away): nothing to send.
        if (!this.res.writableEnded && !this.res.destroyed) this.#dispatch(this.#smallBody());
      });
      return;
    }
    this.#dispatch(this.#small ? this.#smallBody() : length !== undefined || chunked ? req : null);
  }

  #smallBody(): Buffer {
    const parts = this.#small ?? [];
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  #dispatch(body: IncomingMessage | Buffer | null): void {
    const { req } = this;
    try {
      this.target.pool.dispatch(
        {
          method: req.method ?? "GET",
          path: this.target.prefix + (req.url ?? "/"),
          headers: forwardHeaders(req.rawHeaders, true),
          body,
        },
        this,
      );
    } catch (err) {
      // undici refuses a few request headers outright (e.g. duplicate Host): the caller's mistake.
      this.res.fail(
        new WatchdogError("BadRequest", `bad request: ${(err as Error).message}`, {
          internal: false,
        }),
      );
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: Node's server sends its own 100 Continue.
    const { res } = this;
    this.#answered = true;
    this.#resume = resume;
    const headers: string[] = new Array(rawHeaders.length);
    for (let i = 0; i < rawHeaders.length; i++)
      headers[i] = (rawHeaders[i] as Buffer).toString("latin1");
    res.writeHead(
      statusCode,
      forwardHeaders(headers, false, "X-Duration-Seconds", res.durationSeconds()),
    );
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    this.res.once("drain", this.#resume as () => void);
    return false;
  }

  onComplete(): void {
    clearTimeout(this.#timer);
    this.res.end();
  }

  onError(err: Error & { code?: string }): void {
    clearTimeout(this.#timer);
    const { res } = this;
    if (res.writableEnded || res.destroyed) return;
    if (this.#answered) return void res.destroy(err);
    // A keep-alive socket the upstream closed as we reused it: safe to resend a bodiless call.
    if (!this.#retried && isBodiless(this.req) && err.code === "UND_ERR_SOCKET") {
      this.#retried = true;
      this.#abort = undefined;
      return this.#send();
    }
    this.target.log.warn({ err: err.message, code: err.code }, "upstream call failed");
    res.fail(new WatchdogError("BadGateway", `function process: ${err.message}`, { cause: err }));
  }

  #onTimeout(): void {
    this.res.fail(new WatchdogError("Timeout", "function did not answer within the timeout"));
    this.#abort?.(new Error("timed out"));
  }
}

function isBodiless(req: IncomingMessage): boolean {
  return req.method === "GET" || req.method === "HEAD";
}

/** GETs `path` on the upstream; 2xx means ready. */
function probe(agent: Agent, host: string, port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ agent, host, port, path, method: "GET", timeout: 5000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 300);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}
