import { z } from "zod";

/** A configuration value that is missing or invalid; names the variable and the reason. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly code = "FERRY_ERR_CONFIG";
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Parses environment variables with a zod object schema whose keys are the variable names.
 * Empty strings count as unset, so `FOO=` falls back to the default. Throws {@link ConfigError}
 * listing every bad variable with its reason.
 */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv | Record<string, string | undefined>,
): z.infer<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map(
    (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
  );
  throw new ConfigError(`invalid configuration: ${issues.join("; ")}`, issues);
}

/** A duration in milliseconds from a number of ms, or `500ms`, `30s`, `5m`, `1h`. */
export const Duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `not a duration: "${value}" (use 500ms, 30s, 5m, 1h)`,
    });
    return z.NEVER;
  }
  return ms;
});

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `250`, `250ms`, `1.5s`, `2m`, `1h` into milliseconds; `undefined` if it is not one. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? "ms"] ?? 1));
}

/** A boolean from `true/false/1/0/yes/no`. */
export const Bool = z.union([z.boolean(), z.string()]).transform((value, ctx) => {
  if (typeof value === "boolean") return value;
  const v = value.toLowerCase();
  if (["true", "1", "yes", "on"].includes(v)) return true;
  if (["false", "0", "no", "off"].includes(v)) return false;
  ctx.addIssue({ code: "custom", message: `not a boolean: "${value}" (use true or false)` });
  return z.NEVER;
});

/** A TCP port (0 picks a free one). */
export const Port = z.coerce.number().int().min(0).max(65535);

/**
 * For a process entry: the configuration, or exit 1 with one line naming the process, each bad
 * variable and the reason (`gateway: invalid configuration: PORT: …`).
 */
export function configOrExit<T>(processName: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${processName}: ${err.message}\n`);
    process.exit(1);
  }
}
