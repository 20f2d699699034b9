import { createServer, type IncomingMessage, type Server } from "node:http";
import { parseSeconds } from "./config.js";
import { WatchdogError } from "./errors.js";
import type { WatchdogMetrics } from "./metrics.js";
import { WatchdogResponse, type ModeRunner } from "./runners/runner.js";
import { traceCall } from "./trace.js";

/** Options of {@link createCallServer}. */
export interface CallServerOptions {
  runner: ModeRunner;
  metrics: WatchdogMetrics;
  /** Calls served at once before answering 429; 0 is no limit. */
  maxInflight: number;
  /** Default call deadline in ms (`exec_timeout`); 0 is none. */
  execTimeoutMs: number;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  /** `/_/health`: the lock file is in place and the watchdog is not shutting down. */
  healthy: () => boolean;
  /** `/_/ready` may answer 200 (started and not shutting down). */
  accepting: () => boolean;
  /** Record a `watchdog run` span per call (the OpenTelemetry SDK runs). Default false. */
  tracing?: boolean;
}

/** The watchdog's HTTP server: `/_/health`, `/_/ready`, and every other path to the runner. */
export interface CallServer {
  readonly server: Server<typeof IncomingMessage, typeof WatchdogResponse>;
  /** Calls being served now. */
  inflight(): number;
  /** Stops accepting, waits for calls in flight up to `deadlineMs`, then closes every connection. */
  drain(deadlineMs: number): Promise<void>;
}

/** Creates the server; the caller listens. */
export function createCallServer(opts: CallServerOptions): CallServer {
  const { runner, metrics, maxInflight, execTimeoutMs } = opts;
  let inflight = 0;
  let onIdle: (() => void) | undefined;

  function onCallClose(this: WatchdogResponse): void {
    inflight--;
    metrics.inflight.dec();
    metrics.observe(
      this.req.method ?? "GET",
      this.statusCode,
      (performance.now() - this.startedAt) / 1000,
    );
    if (inflight === 0) onIdle?.();
  }

  function handle(req: IncomingMessage, res: WatchdogResponse): void {
    res.startedAt = performance.now();
    const url = req.url ?? "/";
    // `/_/…` is the watchdog's own namespace, as in of-watchdog.
    if (url.startsWith("/_/") && internal(res, url)) return;
    if (maxInflight > 0 && inflight >= maxInflight) {
      res.fail(new WatchdogError("TooManyRequests", `at max_inflight (${maxInflight})`));
      return metrics.observe(req.method ?? "GET", 429, 0);
    }
    inflight++;
    metrics.inflight.inc();
    res.once("close", onCallClose);
    if (opts.tracing) traceCall(req, res);
    runner.run(req, res, callTimeout(req.rawHeaders, execTimeoutMs));
  }

  /** Answers the watchdog's own endpoints; false lets any other `/_/` path through to the function. */
  function internal(res: WatchdogResponse, url: string): boolean {
    const path = url.split("?", 1)[0];
    if (path === "/_/health") {
      const ok = opts.healthy();
      plain(res, ok ? 200 : 503, ok ? "OK" : "unhealthy");
      return true;
    }
    if (path !== "/_/ready") return false;
    void ready(res);
    return true;
  }

  async function ready(res: WatchdogResponse): Promise<void> {
    if (!opts.accepting() || !runner.ready()) return plain(res, 503, "not ready");
    if (maxInflight > 0 && inflight >= maxInflight) return plain(res, 429, "at max_inflight");
    const ok = runner.checkReady === undefined || (await runner.checkReady());
    plain(res, ok ? 200 : 503, ok ? "OK" : "not ready");
  }

  const server = createServer<typeof IncomingMessage, typeof WatchdogResponse>(
    {
      ServerResponse: WatchdogResponse,
      requestTimeout: opts.readTimeoutMs,
      headersTimeout: opts.readTimeoutMs > 0 ? Math.min(opts.readTimeoutMs, 60_000) : 60_000,
    },
    handle,
  );
  // Go's WriteTimeout has no Node twin: an idle limit while writing, never below exec_timeout.
  server.timeout = opts.writeTimeoutMs > 0 ? Math.max(opts.writeTimeoutMs, execTimeoutMs) : 0;

  return {
    server,
    inflight: () => inflight,
    async drain(deadlineMs) {
      server.close();
      server.closeIdleConnections();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadlineMs);
          onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeAllConnections();
    },
  };
}

function plain(res: WatchdogResponse, status: number, body: string): void {
  res.writeHead(status, {
    "content-type": "text/plain",
    "x-duration-seconds": res.durationSeconds(),
  });
  res.end(body);
}

/** The call deadline: `X-Timeout` (seconds or a duration) may shorten `exec_timeout`, never extend it. */
export function callTimeout(raw: string[], execTimeoutMs: number): number {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 9 || name.toLowerCase() !== "x-timeout") continue;
    const ms = parseSeconds(raw[i + 1] as string);
    if (ms === undefined || ms <= 0) return execTimeoutMs;
    return execTimeoutMs > 0 ? Math.min(ms, execTimeoutMs) : ms;
  }
  return execTimeoutMs;
}
