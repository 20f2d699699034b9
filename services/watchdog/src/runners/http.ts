import { Agent, request, type ClientRequest, type IncomingMessage } from "node:http";
import type { Logger } from "@ferry/runtime";
import type { Command } from "../config.js";
import { WatchdogError } from "../errors.js";
import { forwardHeaders } from "../internal/headers.js";
import type { FunctionOutput } from "../internal/output.js";
import type { FunctionProcess } from "../internal/process.js";
import { Supervisor } from "../internal/supervisor.js";
import type { ModeRunner, WatchdogResponse } from "./runner.js";

/** Options of {@link createHttpRunner}. */
export interface HttpRunnerOptions {
  command: Command;
  /** Where the function listens, e.g. `http://127.0.0.1:3000`; a path is prefixed to every call. */
  upstreamUrl: string;
  /** Upstream path probed by `/_/ready`; without it readiness is "the port accepts". */
  readyPath: string | undefined;
  env: NodeJS.ProcessEnv;
  output: FunctionOutput;
  live: Set<FunctionProcess>;
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
  // Keep-alive and LIFO reuse: the hottest sockets stay warm, idle ones age out.
  const agent = new Agent({
    keepAlive: true,
    maxSockets: Infinity,
    maxFreeSockets: 1024,
    scheduling: "lifo",
  });
  const supervisor = new Supervisor({ ...opts, host, port, onStart: opts.onProcessStart });
  let started = false;
  const target: Target = { agent, host, port, prefix, log };

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
    },
  };
}

/** Where calls go. */
interface Target {
  agent: Agent;
  host: string;
  port: number;
  prefix: string;
  log: Logger;
}

/** One proxied call: request and response streamed, never buffered. */
class ProxyCall {
  #upstream: ClientRequest | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: Target,
    private readonly req: IncomingMessage,
    private readonly res: WatchdogResponse,
  ) {}

  start(timeoutMs: number): void {
    this.req.pipe(this.#send(false));
    if (timeoutMs > 0) this.#timer = setTimeout(() => this.#onTimeout(), timeoutMs);
    this.res.once("close", () => {
      clearTimeout(this.#timer);
      if (!this.res.writableFinished) this.#upstream?.destroy();
    });
  }

  #send(retried: boolean): ClientRequest {
    const { agent, host, port, prefix } = this.target;
    const { req, res } = this;
    const upstream = request({
      agent,
      host,
      port,
      method: req.method,
      path: prefix + (req.url ?? "/"),
      headers: forwardHeaders(req.rawHeaders, true),
    });
    this.#upstream = upstream;
    upstream.on("response", (answer) => {
      res.writeHead(
        answer.statusCode ?? 502,
        forwardHeaders(answer.rawHeaders, false, "X-Duration-Seconds", res.durationSeconds()),
      );
      answer.on("error", () => res.destroy());
      answer.pipe(res);
    });
    upstream.on("error", (err: NodeJS.ErrnoException) => this.#onError(err, upstream, retried));
    return upstream;
  }

  #onError(err: NodeJS.ErrnoException, upstream: ClientRequest, retried: boolean): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    // A keep-alive socket the upstream closed as we reused it: safe to resend a bodiless call.
    if (!retried && upstream.reusedSocket && isBodiless(this.req) && err.code === "ECONNRESET") {
      this.#send(true).end();
      return;
    }
    this.target.log.warn({ err: err.message, code: err.code }, "upstream call failed");
    this.res.fail(
      new WatchdogError("BadGateway", `function process: ${err.message}`, { cause: err }),
    );
  }

  #onTimeout(): void {
    this.res.fail(new WatchdogError("Timeout", "function did not answer within the timeout"));
    this.#upstream?.destroy();
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
