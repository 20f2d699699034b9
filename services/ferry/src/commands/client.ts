import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TOKEN_FILE } from "../local-auth.js";
import { CliError, type Io } from "./io.js";

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "[::1]" || host.startsWith("127.");
  } catch {
    return false;
  }
}

/** The token `ferry up` keeps in `.ferry/token` of the current directory, if any. */
function readLocalTokenSync(): string | undefined {
  try {
    return readFileSync(join(".ferry", TOKEN_FILE), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Options every command that talks to the gateway takes. */
export interface GatewayFlags {
  gateway?: string;
  token?: string;
  basicAuth?: string;
  json?: boolean;
}

/** A small HTTP client for the gateway's API, with the caller's credentials. */
export class GatewayClient {
  readonly url: string;
  readonly #headers: Record<string, string> = {};

  constructor(flags: GatewayFlags, io: Io) {
    this.url = (flags.gateway ?? io.env.FERRY_GATEWAY_URL ?? "http://127.0.0.1:8080").replace(
      /\/+$/,
      "",
    );
    // A gateway on this machine is likely `ferry up`'s: its token file is the default credential.
    const local = isLoopback(this.url) ? readLocalTokenSync() : undefined;
    const token = flags.token ?? io.env.FERRY_TOKEN;
    const basic = flags.basicAuth ?? io.env.FERRY_BASIC_AUTH;
    if (token) this.#headers.authorization = `Bearer ${token}`;
    else if (basic) this.#headers.authorization = `Basic ${Buffer.from(basic).toString("base64")}`;
    else if (local) this.#headers.authorization = `Bearer ${local}`;
  }

  /** Sends a request; network failures become a CliError naming the gateway. */
  async request(
    method: string,
    path: string,
    opts: { body?: Uint8Array | string; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, {
        method,
        headers: { ...this.#headers, ...opts.headers },
        ...(opts.body !== undefined ? { body: opts.body } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new CliError(`cannot reach the gateway at ${this.url} (${cause})`);
    }
  }

  /** A JSON request that must succeed; an error answer becomes a CliError with its message. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, {
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
        : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new CliError(errorMessage(res.status, text));
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

/** `404 FERRY_ERR_…: message` from a gateway error body, or the raw text. */
export function errorMessage(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.message) return `${status} ${body.error.code ?? ""}: ${body.error.message}`;
  } catch {
    // not JSON
  }
  return `${status}: ${text.slice(0, 500)}`;
}
