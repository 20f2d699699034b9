import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** One line of the result table. */
export interface Row {
  group: string;
  name: string;
  /** Operations per second. */
  rps: number;
  p50?: number;
  p99?: number;
  errors?: number;
  /** A ratio against a baseline of the same run, with what it is against. */
  ratio?: { value: number; against: string; goal?: string };
  note?: string;
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? "-"
    : n.toLocaleString("en-US", { maximumFractionDigits: digits });

/** Prints the table. */
export function printTable(rows: Row[]): void {
  const head = ["group", "scenario", "ops/s", "p50 ms", "p99 ms", "errors", "ratio; note"];
  const body = rows.map((r) => [
    r.group,
    r.name,
    fmt(r.rps),
    fmt(r.p50, 3),
    fmt(r.p99, 3),
    fmt(r.errors),
    [
      r.ratio &&
        `${r.ratio.value.toFixed(2)}x ${r.ratio.against}${r.ratio.goal ? ` (goal ${r.ratio.goal})` : ""}`,
      r.note,
    ]
      .filter(Boolean)
      .join("; "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  process.stdout.write(`\n${line(head)}\n${widths.map((w) => "-".repeat(w)).join("  ")}\n`);
  for (const b of body) process.stdout.write(`${line(b)}\n`);
}

/** Saves the rows and the run's context as JSON under `dir`; returns the file path. */
export async function saveJson(
  dir: string,
  rows: Row[],
  context: Record<string, unknown>,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(file, JSON.stringify({ ...context, rows }, null, 2));
  return file;
}
