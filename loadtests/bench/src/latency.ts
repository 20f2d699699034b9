import { connect, type Socket } from "node:net";
import { fromSamples, type LoadResult } from "./load.js";

/** Options of {@link timedLoop}. */
export interface TimedLoopOptions {
  url: string;
  body: string;
  durationSec: number;
}

/**
 * One keep-alive connection, one POST at a time, each timed with `process.hrtime.bigint()`, so
 * latency percentiles have microsecond resolution. autocannon 8 records latency into an integer
 * HDR histogram in whole milliseconds (0.25 ms reads as 0), which cannot show a 250 µs median.
 * The client is a raw socket writing one prebuilt request and reading the answer's
 * `Content-Length` (or a chunked body to its last chunk), so its own cost stays small; it is
 * still part of the figure, which is why the direct upstream is measured with it too.
 */
export async function timedLoop(opts: TimedLoopOptions): Promise<LoadResult> {
  const url = new URL(opts.url);
  const body = Buffer.from(opts.body);
  const request = Buffer.from(
    `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${opts.body}`,
  );
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(Number(url.port), url.hostname, () => resolve(s));
    s.once("error", reject);
  });
  socket.setNoDelay(true);
  const reader = new ResponseReader(socket);
  const one = async (): Promise<number> => {
    socket.write(request);
    return reader.next();
  };
  try {
    // Warm the connection and the target's code paths first.
    for (let i = 0; i < 200; i++) await one();
    const samples: number[] = [];
    let errors = 0;
    const started = process.hrtime.bigint();
    const until = started + BigInt(Math.round(opts.durationSec * 1e9));
    for (let t0 = started; t0 < until; t0 = process.hrtime.bigint()) {
      const status = await one();
      const dt = Number(process.hrtime.bigint() - t0) / 1e6;
      if (status >= 200 && status < 300) samples.push(dt);
      else errors++;
    }
    const elapsedSec = Number(process.hrtime.bigint() - started) / 1e9;
    return fromSamples(samples, elapsedSec, errors);
  } finally {
    socket.destroy();
  }
}

const HEADER_END = Buffer.from("\r\n\r\n");
const LAST_CHUNK = Buffer.from("0\r\n\r\n");

/** Reads HTTP/1.1 responses off a socket, one at a time; resolves each with its status. */
class ResponseReader {
  #buf: Buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #failed: Error | undefined;

  constructor(socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
      this.#wake?.();
    });
    const fail = (err?: Error): void => {
      this.#failed = err ?? new Error("connection closed");
      this.#wake?.();
    };
    socket.on("error", fail);
    socket.on("close", () => fail());
  }

  async next(): Promise<number> {
    for (;;) {
      const done = this.#parse();
      if (done !== undefined) return done;
      if (this.#failed) throw this.#failed;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** The status of a complete response at the head of the buffer (which it consumes), if any. */
  #parse(): number | undefined {
    const end = this.#buf.indexOf(HEADER_END);
    if (end === -1) return undefined;
    const head = this.#buf.toString("latin1", 0, end);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let total: number;
    if (length) {
      total = end + 4 + Number(length[1]);
      if (this.#buf.length < total) return undefined;
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const last = this.#buf.indexOf(LAST_CHUNK, end + 4);
      if (last === -1) return undefined;
      total = last + LAST_CHUNK.length;
    } else {
      total = end + 4;
    }
    this.#buf = this.#buf.subarray(total);
    return status;
  }
}
