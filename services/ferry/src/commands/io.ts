/** Where a command reads and writes: the process by default, buffers in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** The whole of standard input (empty when it is a terminal). */
  stdin(): Promise<Buffer>;
  /** Colour and progress only when standard output is a terminal. */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** A command failed; the message is printed to stderr and the process exits with `exitCode`. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The process's standard streams. */
export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    async stdin() {
      if (process.stdin.isTTY) return Buffer.alloc(0);
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    isTTY: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
    env: process.env,
  };
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

/** Wraps text in an ANSI colour on a terminal; plain otherwise. */
export function paint(io: Io, colour: keyof typeof CODES, text: string): string {
  return io.isTTY ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

/** Left-aligned columns, for human output. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}
