import { flushWrites } from "./coalesce.js";

/** A Redis client that defines Lua scripts as commands (an ioredis connection). */
export interface ScriptClient {
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
  /** The current socket, for {@link flushWrites}. */
  stream?: unknown;
  /** The connection's state: `ready` when commands go to the socket, not to an offline queue. */
  status?: string;
  on?(event: "close", listener: () => void): unknown;
}

/** One argument of a script: Redis takes strings, numbers and binary data. */
export type ScriptArg = string | number | Buffer;

/**
 * A record's fields as name, value, name, value…: the arguments of an `HSET` in a script.
 * (`Object.entries(r).flat()` builds the same list at seventy times the cost.)
 */
export function fieldArgs(fields: Readonly<Record<string, ScriptArg>>): ScriptArg[] {
  const out: ScriptArg[] = [];
  for (const name in fields) out.push(name, fields[name] as ScriptArg);
  return out;
}

/** The most runs sent in one script: Redis serves nothing else while a script runs. */
const MAX_RUNS = 64;

/**
 * What Redis reads of a connection at a time (its query buffer's read size). A longer command is
 * read over several turns of Redis' loop, between which it serves other connections.
 */
const ONE_READ_BYTES = 16 * 1024;

interface Run {
  keys: readonly string[];
  args: readonly ScriptArg[];
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

type BatchCommand = (numKeys: number, ...keysAndArgs: ScriptArg[]) => Promise<unknown[]>;

/**
 * Runs a Lua script for many callers in one `EVALSHA` per turn of the event loop: the runs asked
 * for during one turn go together at its end (up to 64 a script), and each caller gets its own
 * run's result or error. Per call a service then pays a share of one command instead of a
 * command of its own (in a micro-benchmark at 10 runs a batch, half the client's CPU per run).
 *
 * `lua` is written for one run, with its own `KEYS` and `ARGV`; `prelude` (constants) is
 * evaluated once per batch. A run whose script raises an error fails alone: the runs before it
 * and after it in the batch are unaffected, and what it wrote before the error stays written,
 * as with a script of its own.
 */
export class ScriptBatch {
  readonly #redis: ScriptClient;
  readonly #command: string;
  #queued: Run[] = [];
  /**
   * The server has run the script on this connection: an `EVALSHA` is not answered `NOSCRIPT`
   * and sent again as `EVAL`, a round trip later. A new connection may be to a restarted server.
   */
  #known = false;
  /** Bytes of the largest script call of the last flush. */
  #lastBytes = 0;

  constructor(redis: ScriptClient, name: string, lua: string, prelude = "") {
    this.#redis = redis;
    this.#command = `ferryBatch${name}`;
    if (!(this.#command in redis)) {
      redis.defineCommand(this.#command, { lua: batchLua(lua, prelude) });
    }
    redis.on?.("close", () => (this.#known = false));
  }

  /**
   * Whether the runs asked for so far have left for Redis whole: none waits for the turn's end,
   * the client sends to its socket (not to an offline queue), the socket has handed every byte to
   * the kernel, each script call of the last flush fits in one of Redis' reads, and the script
   * will not come back `NOSCRIPT`. Then whatever reaches Redis later, on any connection, is
   * served after them. A longer call is read over several turns of Redis' loop, and a request
   * on another connection can be served in between (a receiver fetching a 400 KB result on its
   * callback found it not yet stored).
   */
  sent(): boolean {
    const socket = this.#redis.stream as { writableLength?: number } | undefined;
    return (
      this.#queued.length === 0 &&
      this.#known &&
      this.#lastBytes <= ONE_READ_BYTES &&
      (this.#redis.status === undefined || this.#redis.status === "ready") &&
      socket?.writableLength === 0
    );
  }

  /** Runs the script once with `keys` and `args`, in this turn's batch. */
  run(keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#queued.push({ keys, args, resolve, reject }) === 1) {
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const runs = this.#queued;
    this.#queued = [];
    this.#lastBytes = 0;
    for (let i = 0; i < runs.length; i += MAX_RUNS) this.#send(runs.slice(i, i + MAX_RUNS));
    // This runs at the turn's end, where a coalesced connection's writes would wait a turn more.
    flushWrites(this.#redis.stream);
  }

  #send(runs: Run[]): void {
    const keys: ScriptArg[] = [];
    const args: ScriptArg[] = [runs.length];
    // The command's length on the wire, near enough: each argument and its framing.
    let bytes = 64;
    for (const r of runs) {
      keys.push(...r.keys);
      args.push(r.keys.length, r.args.length, ...r.args);
      for (const k of r.keys) bytes += Buffer.byteLength(k) + 16;
      for (const a of r.args) {
        bytes += (typeof a === "number" ? 20 : Buffer.byteLength(a)) + 16;
      }
    }
    if (bytes > this.#lastBytes) this.#lastBytes = bytes;
    const command = (this.#redis as unknown as Record<string, BatchCommand>)[this.#command];
    if (!command) {
      for (const r of runs) r.reject(new Error(`${this.#command} is not defined on this client`));
      return;
    }
    command.call(this.#redis, keys.length, ...keys, ...args).then(
      (results) => {
        this.#known = true;
        runs.forEach((r, i) => {
          const [ok, value] = (results[i] as [number, unknown] | undefined) ?? [0, "no result"];
          if (ok === 1) r.resolve(value);
          else r.reject(new Error(String(value)));
        });
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        for (const r of runs) r.reject(error);
      },
    );
  }
}

/**
 * The batch script: ARGV[1] runs, then per run its key and argument counts and its arguments;
 * KEYS holds every run's keys in order. Answers per run `{1, result}` or `{0, error}`.
 */
function batchLua(lua: string, prelude: string): string {
  return `${prelude}
local function one(KEYS, ARGV)
${lua}
end
local out, k, a = {}, 1, 2
for r = 1, tonumber(ARGV[1]) do
  local nk, na = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  local ok, res = pcall(one, { unpack(KEYS, k, k + nk - 1) }, { unpack(ARGV, a, a + na - 1) })
  if ok then
    out[r] = { 1, res }
  else
    out[r] = { 0, type(res) == 'table' and (res.err or res.message) or tostring(res) }
  end
  k = k + nk
  a = a + na
end
return out`;
}
