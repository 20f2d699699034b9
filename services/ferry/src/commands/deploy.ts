import { dirname, isAbsolute, resolve } from "node:path";
import type { FunctionSpec } from "@ferry/contracts";
import { FunctionsFileError, loadFunctionsFile } from "../functions.js";
import { GatewayClient, type GatewayFlags } from "./client.js";
import { CliError, paint, type Io } from "./io.js";

/** One line of a deploy plan. */
export interface PlanItem {
  name: string;
  action: "create" | "update" | "unchanged";
  /** Top-level fields that differ (updates). */
  changed: string[];
}

/** `ferry deploy -f FILE [--dry-run]`: validate, show the diff, apply creates and updates. */
export async function deploy(
  flags: GatewayFlags & { file: string; dryRun?: boolean },
  io: Io,
): Promise<void> {
  let specs: FunctionSpec[];
  try {
    specs = (await loadFunctionsFile(flags.file)).map((s) => anchored(s, flags.file));
  } catch (err) {
    if (!(err instanceof FunctionsFileError)) throw err;
    const lines = err.issues.map((i) => `${flags.file}: ${i.path}: ${i.message}`);
    throw new CliError(`${lines.join("\n")}\nnothing was deployed`, 2);
  }
  const client = new GatewayClient(flags, io);
  const current = await client.json<(FunctionSpec & { status?: unknown })[]>(
    "GET",
    "/system/functions",
  );
  const plan = diff(specs, new Map(current.map(({ status: _s, ...spec }) => [spec.name, spec])));
  if (!flags.json) io.out(render(plan, io));
  if (!flags.dryRun) {
    for (const item of plan.filter((p) => p.action !== "unchanged")) {
      const spec = specs.find((s) => s.name === item.name) as FunctionSpec;
      if (io.isTTY) io.err(paint(io, "dim", `applying ${item.name}…\n`));
      await client.json("PUT", `/system/functions/${item.name}`, spec);
    }
  }
  if (flags.json) io.out(JSON.stringify({ dryRun: flags.dryRun === true, plan }) + "\n");
  else if (flags.dryRun) io.out("dry run: nothing was changed\n");
}

/** Relative paths are from the functions file: made absolute so any local provider finds them. */
function anchored(spec: FunctionSpec, file: string): FunctionSpec {
  const wd = spec.watchdog;
  if (!wd) return spec;
  const base = dirname(resolve(file));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...spec,
    watchdog: {
      ...wd,
      workdir: abs(wd.workdir ?? "."),
      ...(wd.staticPath ? { staticPath: abs(wd.staticPath) } : {}),
    },
  };
}

/** What applying `wanted` over `current` would do, function by function. */
export function diff(wanted: FunctionSpec[], current: Map<string, FunctionSpec>): PlanItem[] {
  return wanted.map((spec) => {
    const now = current.get(spec.name);
    if (!now) return { name: spec.name, action: "create", changed: [] };
    const keys = new Set([...Object.keys(spec), ...Object.keys(now)]);
    const changed = [...keys].filter(
      (k) =>
        JSON.stringify(spec[k as keyof FunctionSpec]) !==
        JSON.stringify(now[k as keyof FunctionSpec]),
    );
    return { name: spec.name, action: changed.length ? "update" : "unchanged", changed };
  });
}

function render(plan: PlanItem[], io: Io): string {
  const line = (p: PlanItem): string => {
    if (p.action === "create") return paint(io, "green", `+ ${p.name}`) + " (new)";
    if (p.action === "update") {
      return paint(io, "yellow", `~ ${p.name}`) + ` (changed: ${p.changed.join(", ")})`;
    }
    return paint(io, "dim", `  ${p.name} (unchanged)`);
  };
  return plan.map(line).join("\n") + "\n";
}
