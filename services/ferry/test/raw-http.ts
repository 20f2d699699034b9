import { connect } from "node:net";

/** A response read off a raw socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Options of {@link rawRequest}. */
export interface RawOptions {
  /** Bytes sent later, one chunk every `intervalMs` (a slow client). */
  slow?: { chunks: Buffer[]; intervalMs: number };
  /** Longest wait for the answer. Default 10 s. */
  timeoutMs?: number;
}

/**
 * Sends bytes as they are (no client-side checks, unlike fetch) and reads the first response
 * until the server closes the connection or the response is complete.
 */
export function rawRequest(
  port: number,
  bytes: Buffer | string,
  opts: RawOptions = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      clearTimeout(deadline);
      socket.destroy();
      const parsed = parse(Buffer.concat(chunks));
      if (parsed) resolve(parsed);
      else
        reject(new Error(`no HTTP response: ${JSON.stringify(Buffer.concat(chunks).toString())}`));
    };
    const deadline = setTimeout(done, opts.timeoutMs ?? 10_000);
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      const parsed = parse(Buffer.concat(chunks));
      if (parsed && complete(parsed, Buffer.concat(chunks))) done();
    });
    socket.on("close", done);
    // A server that answers and closes while we still send resets the socket: not an error here.
    socket.on("error", () => {});
    socket.write(bytes);
    const rest = [...(opts.slow?.chunks ?? [])];
    const drip = (): void => {
      const next = rest.shift();
      if (!next || socket.destroyed) return;
      socket.write(next);
      timer = setTimeout(drip, opts.slow?.intervalMs ?? 0);
    };
    if (rest.length > 0) timer = setTimeout(drip, opts.slow?.intervalMs ?? 0);
  });
}

function parse(buf: Buffer): RawResponse | undefined {
  const text = buf.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return {
    status,
    headers,
    body: buf.subarray(Buffer.byteLength(text.slice(0, end + 4), "latin1")).toString(),
  };
}

function complete(res: RawResponse, _buf: Buffer): boolean {
  const length = Number(res.headers["content-length"]);
  return Number.isFinite(length) && Buffer.byteLength(res.body) >= length;
}

/** An HTTP/1.1 request as bytes; `Connection: close` unless headers say otherwise. */
export function httpRequest(
  method: string,
  path: string,
  headers: Array<[string, string]> = [],
  body: Buffer | string = "",
): Buffer {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  const all: Array<[string, string]> = [["Host", "127.0.0.1"], ["Connection", "close"], ...headers];
  if (!headers.some(([k]) => /^(content-length|transfer-encoding)$/i.test(k))) {
    all.push(["Content-Length", String(b.byteLength)]);
  }
  const head = `${method} ${path} HTTP/1.1\r\n${all.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), b]);
}
