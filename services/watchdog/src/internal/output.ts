import type { Readable } from "node:stream";
import type { Logger } from "@ferry/runtime";

/** Where the function's own log output goes. */
export interface FunctionOutput {
  /** Reads `stream` line by line until it ends, logging each line as coming from `pid`. */
  follow(stream: Readable, name: "stdout" | "stderr", pid: number | undefined): void;
}

/** Options of {@link createFunctionOutput}. */
export interface FunctionOutputOptions {
  logger: Logger;
  /** Structured log lines (true) or the function's bytes unchanged, line by line (false). */
  prefixLogs: boolean;
  /** Longest line in bytes; longer ones are split so one line cannot grow without bound. */
  maxLineBytes: number;
  /** Receives unprefixed lines; the watchdog's stderr in the process entry. */
  raw: (line: Buffer) => void;
}

/** Builds the log sink for function stdout/stderr (of-watchdog `prefix_logs`, `log_buffer_size`). */
export function createFunctionOutput(opts: FunctionOutputOptions): FunctionOutput {
  const log = opts.logger.child({ component: "function" });
  return {
    follow(stream, name, pid) {
      const emit = opts.prefixLogs
        ? (line: Buffer) => log.info({ stream: name, pid }, line.toString("utf8"))
        : opts.raw;
      splitLines(stream, opts.maxLineBytes, emit);
    },
  };
}

const NEWLINE = 0x0a;

/** Calls `emit` for every line of `stream` (without the newline), splitting at `max` bytes. */
export function splitLines(stream: Readable, max: number, emit: (line: Buffer) => void): void {
  let pending: Buffer | undefined;
  const emitSplit = (line: Buffer): void => {
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
    for (let at = 0; at < end || at === 0; at += max)
      emit(line.subarray(at, Math.min(end, at + max)));
  };
  stream.on("data", (chunk: Buffer) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
      emitSplit(buf.subarray(start, nl));
      start = nl + 1;
    }
    pending = start < buf.length ? buf.subarray(start) : undefined;
    while (pending && pending.length >= max) {
      emit(pending.subarray(0, max));
      pending = pending.length > max ? pending.subarray(max) : undefined;
    }
  });
  stream.on("end", () => {
    if (pending) emitSplit(pending);
    pending = undefined;
  });
}
