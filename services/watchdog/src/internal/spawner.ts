import { spawn, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { PassThrough, type Readable } from "node:stream";
import type { Logger } from "@ferry/runtime";
import type { Command } from "../config.js";
import type { FunctionOutput } from "./output.js";
import { killGroup, spawnFunction, type Exit, type FunctionProcess } from "./process.js";

/**
 * Starts function processes for fork and stream modes. `start` may call back at once or later;
 * a process that could not be started still arrives, with `exited` telling why.
 */
export interface ProcessStarter {
  /** Starts one process with the base environment plus `vars`. */
  start(vars: Record<string, string> | undefined, ready: (proc: FunctionProcess) => void): void;
  /** Resolves once processes can be started. */
  open(): Promise<void>;
  /** Releases what `open` set up; processes already started are the caller's. */
  close(): Promise<void>;
}

/** Options of {@link createLocalStarter} and {@link createSpawnerStarter}. */
export interface StarterOptions {
  command: Command;
  env: NodeJS.ProcessEnv;
  output: FunctionOutput;
  live: Set<FunctionProcess>;
  logger: Logger;
}

/**
 * Spawns from the watchdog itself. Node's `spawn` forks the whole watchdog and waits until the
 * child has called exec: the event loop stands still meanwhile (about a millisecond on a quiet
 * machine, several under load), which every call in flight pays.
 */
export function createLocalStarter(opts: StarterOptions): ProcessStarter {
  return {
    start(vars, ready) {
      const env = vars === undefined ? opts.env : { ...opts.env, ...vars };
      ready(spawnFunction({ ...opts, env }));
    },
    open: async () => {},
    close: async () => {},
  };
}

/**
 * The spawner: a small Node process (no application code, a few MB of heap) that runs `spawn`
 * for the watchdog and hands each child's stdin, stdout and stderr back over the IPC channel as
 * sockets (libuv makes stdio pipes as Unix socket pairs, which can be passed), then reports the
 * exit. The fork happens there, so the watchdog's event loop never stops for one, and forking a
 * small process costs less than forking the watchdog. Function processes stay in their own
 * process groups, which the watchdog signals directly; the spawner kills them all and exits
 * if the watchdog goes away. Should the spawner die, starts fall back to the local starter.
 *
 * `spawn` in a spawner still waits for each child to reach exec; with `helpers` above one, calls
 * take turns between spawners so that those waits overlap (measured: two spawners served about
 * twice the calls per second of one in fork mode without a pool on two cores).
 */
export function createSpawnerStarter(opts: StarterOptions & { helpers: number }): ProcessStarter {
  const log = opts.logger.child({ component: "spawner" });
  const local = createLocalStarter(opts);
  const helpers: Helper[] = [];
  let nextId = 0;
  let turn = 0;
  let closing = false;

  function onMessage(helper: Helper, msg: SpawnerMessage, handle: unknown): void {
    const proc = helper.pending.get(msg.id);
    if (proc === undefined) {
      (handle as Socket | undefined)?.destroy();
      return;
    }
    // A handle is missing when its socket closed before its turn to be sent (Node closes a
    // child's stdin when it exits): the process is gone, so an empty stream stands in for it.
    const socket = handle as Socket | undefined;
    switch (msg.t) {
      case "stdin":
        proc.pid = msg.pid;
        if (socket) proc.setStdin(socket);
        return;
      case "stdout":
        if (socket) proc.setStdout(socket);
        return;
      case "stderr":
        if (socket) {
          opts.output.follow(socket, "stderr", proc.pid);
          proc.track(socket);
        }
        opts.live.add(proc);
        void proc.exited.then(() => opts.live.delete(proc));
        proc.deliver();
        return;
      case "fail": {
        helper.pending.delete(msg.id);
        const err = Object.assign(new Error(msg.message), { code: msg.code });
        proc.finish({ code: null, signal: null, error: err });
        proc.deliver();
        return;
      }
      case "exit":
        helper.pending.delete(msg.id);
        proc.finish({ code: msg.code, signal: msg.signal });
    }
  }

  function onHelperExit(helper: Helper, code: number | null, signal: NodeJS.Signals | null): void {
    const at = helpers.indexOf(helper);
    if (at !== -1) helpers.splice(at, 1);
    if (!closing) {
      const then = helpers.length > 0 ? "using the others" : "starting processes locally";
      log.error({ code, signal }, `spawner exited; ${then}`);
    }
    // Its children lose the one that could tell their exit status: end them. A call whose
    // process had not been handed over yet gets one from another spawner (or a local spawn).
    for (const proc of helper.pending.values()) {
      proc.kill("SIGKILL");
      if (proc.delivered) {
        proc.finish({ code: null, signal: "SIGKILL" });
        continue;
      }
      proc.stdin.destroy();
      proc.stdout().destroy();
      starter.start(proc.vars, proc.ready);
    }
    helper.pending.clear();
  }

  async function launch(): Promise<Helper | undefined> {
    const child = spawn(process.execPath, ["-e", SPAWNER_SOURCE], {
      // The spawner gets the function's environment in its first message, not as its own,
      // so that NODE_OPTIONS meant for a Node function does not load into the spawner.
      env: {},
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    const ok = await new Promise<boolean>((resolve) => {
      child.once("message", (msg: { t?: string }) => resolve(msg.t === "ready"));
      child.once("exit", () => resolve(false));
      child.once("error", () => resolve(false));
      child.send({ t: "init", file: opts.command.file, args: opts.command.args, env: opts.env });
    });
    if (!ok) {
      child.kill("SIGKILL");
      return undefined;
    }
    const helper: Helper = { child, pending: new Map() };
    child.on("message", (msg: SpawnerMessage, handle: unknown) => onMessage(helper, msg, handle));
    child.once("exit", (code, signal) => onHelperExit(helper, code, signal));
    // A send racing the spawner's death fails here; its call is moved on in onHelperExit.
    child.on("error", (err) => log.warn({ err: err.message }, "spawner channel error"));
    // The watchdog may exit while the spawner lives; its IPC channel must not hold it up.
    child.unref();
    (child.channel as unknown as { unref?: () => void } | undefined)?.unref?.();
    return helper;
  }

  const starter: ProcessStarter = {
    start(vars, ready) {
      const helper = helpers[turn++ % Math.max(1, helpers.length)];
      if (helper === undefined || !helper.child.connected) return local.start(vars, ready);
      const id = nextId++;
      helper.pending.set(id, new RemoteProcess(vars, ready));
      helper.child.send(vars === undefined ? { t: "spawn", id } : { t: "spawn", id, vars });
    },
    async open() {
      const launched = await Promise.all(Array.from({ length: opts.helpers }, launch));
      for (const helper of launched) if (helper) helpers.push(helper);
      if (helpers.length === 0) log.warn("spawner did not start; starting processes locally");
    },
    async close() {
      closing = true;
      await Promise.all(
        helpers.map(({ child }) => {
          if (!child.connected) return undefined;
          const exited = new Promise((resolve) => child.once("exit", resolve));
          child.disconnect();
          return exited;
        }),
      );
    },
  };
  return starter;
}

/** One spawner process and the processes it started whose exit it has not reported yet. */
interface Helper {
  child: ChildProcess;
  pending: Map<number, RemoteProcess>;
}

/** What the spawner sends: one message per stdio handle, then the exit (or a failed start). */
type SpawnerMessage =
  | { t: "stdin"; id: number; pid: number }
  | { t: "stdout"; id: number }
  | { t: "stderr"; id: number }
  | { t: "fail"; id: number; message: string; code?: string }
  | { t: "exit"; id: number; code: number | null; signal: NodeJS.Signals | null };

/** A function process a spawner (Node or native) started, as the watchdog sees it. */
export class RemoteProcess implements FunctionProcess {
  pid: number | undefined;
  /** Until the spawner's socket arrives, or if it never does: a sink. */
  stdin: Socket | PassThrough = new PassThrough().resume();
  delivered = false;
  readonly exited: Promise<Exit>;
  #stdout: Readable = new PassThrough().end();
  #resolve!: (exit: Exit) => void;
  #exit: Exit | undefined;
  #openStreams = 0;

  constructor(
    readonly vars: Record<string, string> | undefined,
    readonly ready: (proc: FunctionProcess) => void,
  ) {
    this.stdin.on("error", ignore);
    this.exited = new Promise((resolve) => (this.#resolve = resolve));
  }

  setStdin(socket: Socket): void {
    socket.on("error", ignore);
    this.stdin = socket;
  }

  setStdout(socket: Socket): void {
    // Held paused, under backpressure, until the runner takes it (see spawnFunction).
    socket.on("readable", ignore);
    this.#stdout = socket;
    this.track(socket);
  }

  deliver(): void {
    if (this.delivered) return;
    this.delivered = true;
    this.ready(this);
  }

  /** The exit as the spawner saw it; `exited` resolves once stdout and stderr are closed too. */
  finish(exit: Exit): void {
    this.#exit = exit;
    // Nothing reads the stdin socket, so it would never see its end: close it here.
    this.stdin.destroy();
    this.#settle();
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    // Once reaped, its pid may belong to another process: signal only a process not yet gone.
    if (this.#exit === undefined) killGroup(this.pid, signal);
  }

  stdout(): Readable {
    return this.#stdout.off("readable", ignore);
  }

  /** `exited` waits for this socket to close. */
  track(socket: Socket): void {
    this.#openStreams++;
    socket.on("error", ignore);
    socket.once("close", () => {
      this.#openStreams--;
      this.#settle();
    });
  }

  #settle(): void {
    if (this.#exit !== undefined && this.#openStreams === 0) this.#resolve(this.#exit);
  }
}

function ignore(): void {}

/**
 * The spawner's program, run with `node -e` so that it loads nothing but Node itself (no
 * loader hooks, no application modules: a small heap is what makes its forks cheap).
 */
const SPAWNER_SOURCE = `"use strict";
const { spawn } = require("node:child_process");
const live = new Set();
let command, baseEnv;
function send(msg, handle) { if (process.connected) process.send(msg, handle); }
function start(id, vars) {
  let child;
  try {
    child = spawn(command.file, command.args, {
      env: vars === undefined ? baseEnv : Object.assign({}, baseEnv, vars),
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
  } catch (err) {
    return send({ t: "fail", id, message: String(err && err.message), code: err && err.code });
  }
  if (child.pid === undefined) {
    child.once("error", (err) => send({ t: "fail", id, message: err.message, code: err.code }));
    return;
  }
  child.on("error", () => {});
  // Node starts reading a child's stdout and stderr at once. Bytes read here would stay here when
  // the socket moves to the watchdog (and handles queue while the watchdog acknowledges earlier
  // ones), so stop reading now; leaving reading set keeps Node from starting it again.
  for (const out of [child.stdout, child.stderr]) out._handle.readStop();
  const pid = child.pid;
  live.add(pid);
  send({ t: "stdin", id, pid }, child.stdin);
  send({ t: "stdout", id }, child.stdout);
  send({ t: "stderr", id }, child.stderr);
  child.once("exit", (code, signal) => {
    live.delete(pid);
    send({ t: "exit", id, code, signal });
  });
}
process.on("message", (msg) => {
  if (msg.t === "spawn") return start(msg.id, msg.vars);
  if (msg.t === "init") {
    command = { file: msg.file, args: msg.args };
    baseEnv = msg.env;
    send({ t: "ready" });
  }
});
function quit() {
  for (const pid of live) { try { process.kill(-pid, "SIGKILL"); } catch {} }
  process.exit(0);
}
process.on("disconnect", quit);
// Should the channel's end go unnoticed (handles still queued), a new parent gives it away.
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) quit(); }, 500).unref();
// Signals for the watchdog's process group are the watchdog's to handle; it tells us to go.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => {});
`;
