import type { z } from "zod";
import { FunctionSpec, FunctionsFile } from "./function-spec.js";

/** One problem found in a functions file: where it is and what is wrong. */
export interface SpecIssue {
  /** Dotted path inside the file, e.g. `functions.echo.watchdog.mode`. */
  path: string;
  message: string;
}

/** The outcome of {@link parseFunctionsFile}. */
export type ParsedFunctions =
  { ok: true; functions: FunctionSpec[] } | { ok: false; issues: SpecIssue[] };

/** Validates a decoded `functions.yaml` document, collecting every problem with its path. */
export function parseFunctionsFile(doc: unknown): ParsedFunctions {
  const file = FunctionsFile.safeParse(doc);
  if (!file.success) return { ok: false, issues: toIssues(file.error, []) };
  const functions: FunctionSpec[] = [];
  const issues: SpecIssue[] = [];
  for (const [name, raw] of Object.entries(file.data.functions)) {
    const spec = FunctionSpec.safeParse({ name, ...raw });
    if (spec.success) functions.push(spec.data);
    else issues.push(...toIssues(spec.error, ["functions", name]));
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, functions };
}

function toIssues(error: z.ZodError, prefix: PropertyKey[]): SpecIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join(".") || "(root)",
    message: issue.message,
  }));
}
