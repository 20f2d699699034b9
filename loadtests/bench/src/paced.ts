import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fromSamples, type LoadResult } from "./load.js";

/** Options of {@link paced}. */
export interface PacedOptions {
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** Requests per second, sent evenly spaced. */
  rate: number;
  durationSec: number;
  /** Keep-alive connections at most. */
  connections: number;
}

/**
 * Open-loop load at an even pace: request i is sent at start + i / rate, whether or not earlier
 * ones were answered. autocannon's `overallRate` spends each connection's quota at the start of
 * every second, so a "steady" 400/s arrives as one burst of 400 a second, and the burst's queue
 * becomes the latency. Latency here is from the request's due time to its answer, so a client
 * that falls behind shows in the figure instead of hiding it.
 */
export async function paced(opts: PacedOptions): Promise<LoadResult> {
  const url = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const body = Buffer.from(opts.body);
  const headers = { ...opts.headers, "content-length": String(body.length) };
  const total = Math.round(opts.rate * opts.durationSec);
  const samples: number[] = [];
  let errors = 0;
  const pending = new Set<Promise<void>>();
  const send = (due: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const req = request(url, { method: "POST", agent, headers }, (res) => {
        res.resume().on("end", () => {
          if (res.statusCode && res.statusCode < 300) samples.push(performance.now() - due);
          else errors++;
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / opts.rate;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait);
    const p = send(due);
    pending.add(p);
    void p.then(() => pending.delete(p));
  }
  await Promise.all(pending);
  agent.destroy();
  const elapsedSec = (performance.now() - start) / 1000;
  return fromSamples(samples, elapsedSec, errors);
}
