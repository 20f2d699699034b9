import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { killGroup, type Exit } from "./process.js";
import { RemoteProcess, type ProcessStarter, type StarterOptions } from "./spawner.js";

/** Where `npm ci` (or the package's build) puts the compiled helper; see native/build.mjs. */
export const NATIVE_SPAWNER_PATH = fileURLToPath(
  new URL("../../native/build/ferry-spawn", import.meta.url),
);

/** True when the native helper has been built. */
export function nativeSpawnerBuilt(path = NATIVE_SPAWNER_PATH): boolean {
  return existsSync(path);
}

/** Longest first line a connection from the helper may start with (`o4294967295\n` is 12). */
const HEADER_BYTES = 16;

/**
 * Starts function processes through `ferry-spawn` (native/spawn.c), which uses posix_spawn
 * (vfork): Node's own spawn copies the whole calling process's memory map first, which costs
 * more CPU than a small function's whole run. The helper connects each process's stdin, stdout
 * and stderr to a Unix socket this starter listens on (in a private temporary directory), each
 * connection first naming its process and stream, and reports pids and exits on its stdout.
 *
 * Should the helper fail to start or die, `fallback` starts processes instead; processes it
 * started that were already handed out are killed, the others started again by `fallback`.
 */
export function createNativeStarter(
  opts: StarterOptions & { fallback: ProcessStarter; path?: string },
): ProcessStarter {
  const log = opts.logger.child({ component: "native-spawner" });
  const pending = new Map<number, NativeStart>();
  let helper: ChildProcessByStdio<Writable, Readable, null> | undefined;
  let server: Server | undefined;
  let dir: string | undefined;
  let nextId = 1;
  let closing = false;
  let useFallback = false;

  function onConnection(socket: Socket): void {
    socket.on("error", ignore);
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl === -1) {
        if (head.length > HEADER_BYTES) socket.destroy();
        return;
      }
      socket.off("data", onData);
      socket.pause();
      const kind = String.fromCharCode(head[0] ?? 0);
      const start = pending.get(Number(head.subarray(1, nl).toString("latin1")));
      const rest = head.subarray(nl + 1);
      if (rest.length > 0) socket.unshift(rest);
      if (start === undefined || (kind !== "i" && kind !== "o" && kind !== "e")) {
        socket.destroy();
        return;
      }
      start.sockets[kind] = socket;
      // Tracked from now: a stream that is already at its end can close before the call starts.
      if (kind === "i") start.proc.setStdin(socket);
      else if (kind === "o") start.proc.setStdout(socket);
      else start.proc.track(socket);
      deliverIfComplete(start);
    };
    socket.on("data", onData);
  }

  function deliverIfComplete(start: NativeStart): void {
    const { i, o, e } = start.sockets;
    if (start.pid === undefined || !i || !o || !e || start.proc.delivered) return;
    const { proc } = start;
    proc.pid = start.pid;
    opts.output.follow(e, "stderr", start.pid);
    // Paused while its first line was read; a 'data' listener alone does not restart it.
    e.resume();
    opts.live.add(proc);
    void proc.exited.then(() => opts.live.delete(proc));
    proc.deliver();
    if (start.exit !== undefined) finish(start, start.exit);
  }

  function finish(start: NativeStart, exit: Exit): void {
    start.exit = exit;
    if (!start.proc.delivered) return;
    pending.delete(start.id);
    start.proc.finish(exit);
  }

  function onLine(line: string): void {
    const [t, idText, valueText] = line.split(" ");
    const start = pending.get(Number(idText));
    const value = Number(valueText);
    if (start === undefined) return;
    if (t === "p") {
      start.pid = value;
      deliverIfComplete(start);
    } else if (t === "x") {
      finish(start, exitOf(value));
    } else if (t === "f") {
      pending.delete(start.id);
      for (const s of Object.values(start.sockets)) s?.destroy();
      const code = errnoName(value);
      const err = Object.assign(new Error(`spawn ${opts.command.file} ${code}`), { code });
      start.proc.finish({ code: null, signal: null, error: err });
      start.proc.deliver();
    }
  }

  function onHelperExit(code: number | null, signal: NodeJS.Signals | null): void {
    helper = undefined;
    useFallback = true;
    if (!closing) log.error({ code, signal }, "native spawner exited; spawning from Node");
    for (const start of pending.values()) {
      if (start.proc.delivered) {
        start.proc.kill("SIGKILL");
        start.proc.finish({ code: null, signal: "SIGKILL" });
        continue;
      }
      killGroup(start.pid, "SIGKILL");
      for (const s of Object.values(start.sockets)) s?.destroy();
      if (!closing) opts.fallback.start(start.proc.vars, start.proc.ready);
    }
    pending.clear();
    if (!closing) void opts.fallback.open();
  }

  async function launch(): Promise<boolean> {
    const path = opts.path ?? NATIVE_SPAWNER_PATH;
    dir = await mkdtemp(join(tmpdir(), "ferry-spawn-"));
    const socketPath = join(dir, "s");
    server = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      server?.once("error", reject);
      server?.listen({ path: socketPath, backlog: 1024 }, resolve);
    });
    server.unref();
    const child = spawn(path, [socketPath, opts.command.file, ...opts.command.args], {
      env: opts.env,
      stdio: ["pipe", "pipe", "inherit"],
    });
    const started = await new Promise<boolean>((resolve) => {
      child.once("spawn", () => resolve(true));
      child.once("error", (err) => {
        log.warn({ err: err.message }, "native spawner did not start; spawning from Node");
        resolve(false);
      });
    });
    if (!started) return false;
    child.stdin.on("error", ignore);
    let buffered = "";
    child.stdout.setEncoding("latin1");
    child.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) !== -1) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    child.once("exit", onHelperExit);
    // The watchdog may exit while the helper lives; the helper goes when its stdin closes.
    child.unref();
    for (const s of [child.stdin, child.stdout] as unknown as { unref?: () => void }[]) s.unref?.();
    helper = child;
    return true;
  }

  return {
    start(vars, ready) {
      if (useFallback || helper === undefined) return opts.fallback.start(vars, ready);
      const id = nextId;
      nextId = nextId === 0xffffffff ? 1 : nextId + 1; // ids are u32 in the helper's frames
      const proc = new RemoteProcess(vars, ready);
      pending.set(id, { id, proc, sockets: {} });
      helper.stdin.write(frame(id, vars));
    },
    async open() {
      if (await launch()) return;
      useFallback = true;
      await opts.fallback.open();
    },
    async close() {
      closing = true;
      const child = helper;
      if (child) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.stdin.end();
        await exited;
      }
      server?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
      if (useFallback) await opts.fallback.close();
    },
  };
}

/** A process the helper was asked for, until its exit is passed on. */
interface NativeStart {
  id: number;
  proc: RemoteProcess;
  pid?: number;
  exit?: Exit;
  sockets: { i?: Socket; o?: Socket; e?: Socket };
}

/** One request frame: u32 length, u32 id, then `KEY=VALUE\0` for each variable. */
function frame(id: number, vars: Record<string, string> | undefined): Buffer {
  const body = vars
    ? Buffer.from(
        Object.entries(vars)
          .filter(([k, v]) => !k.includes("=") && !k.includes("\0") && !v.includes("\0"))
          .map(([k, v]) => `${k}=${v}\0`)
          .join(""),
      )
    : Buffer.alloc(0);
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32LE(4 + body.length, 0);
  head.writeUInt32LE(id, 4);
  return body.length > 0 ? Buffer.concat([head, body]) : head;
}

/** A wait status as Node reports an exit: a code, or the signal that ended the process. */
function exitOf(status: number): Exit {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  const name = Object.entries(constants.signals).find(([, n]) => n === signal)?.[0];
  return { code: null, signal: (name ?? "SIGKILL") as NodeJS.Signals };
}

function errnoName(errno: number): string {
  return Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
}

function ignore(): void {}
