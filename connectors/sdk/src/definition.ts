import { z } from "zod";
import { ConnectorConfigError, readYamlFile, validateYaml } from "./config-file.js";
import type { Source } from "./source.js";

/** Keys every connector config file has. */
export const ConnectorFileBase = z.strictObject({
  /** Which connector reads this file, e.g. `cron`. */
  connector: z.string(),
  /** CloudEvents `source` of the events; default `/ferry/<connector>`. Replicas share it. */
  source: z.string().min(1).max(256).optional(),
});

/** A connector kind: its config schema and how to build its source from a validated config. */
export interface ConnectorDefinition<C extends { source?: string | undefined } = never> {
  kind: string;
  /** Validates a whole config file (including `connector` and `source`). */
  schema: z.ZodType<C>;
  /** Builds the source. `env` resolves secrets named in the file (e.g. `secretEnv`). */
  create(config: C, env: Record<string, string | undefined>): Source;
}

/** A config file matched with its connector definition. */
export interface LoadedConnector {
  file: string;
  kind: string;
  /** CloudEvents `source` of its events. */
  eventSource: string;
  create(env: Record<string, string | undefined>): Source;
}

/**
 * Reads a connector config file, picks the definition named by its `connector` key and validates
 * the file with it. Any problem throws one {@link ConnectorConfigError} line.
 */
export async function loadConnectorFile(
  file: string,
  definitions: ReadonlyArray<ConnectorDefinition<{ source?: string | undefined }>>,
  expectedKind?: string,
): Promise<LoadedConnector> {
  const yaml = await readYamlFile(file);
  const kinds = definitions.map((d) => d.kind);
  const head = z
    .looseObject({ connector: z.enum(kinds as [string, ...string[]]) })
    .safeParse(yaml.data);
  if (!head.success) {
    const reason = `must be one of ${kinds.join(", ")}`;
    throw new ConnectorConfigError(file, yaml.lineOf(["connector"]), "connector", reason);
  }
  const kind = head.data.connector;
  if (expectedKind !== undefined && kind !== expectedKind) {
    const reason = `is "${kind}", but this command runs "${expectedKind}"`;
    throw new ConnectorConfigError(file, yaml.lineOf(["connector"]), "connector", reason);
  }
  const def = definitions.find((d) => d.kind === kind);
  if (!def) throw new ConnectorConfigError(file, undefined, "connector", `unknown kind ${kind}`);
  const config = validateYaml(yaml, def.schema);
  return {
    file,
    kind,
    eventSource: config.source ?? `/ferry/${kind}`,
    create: (env) => def.create(config, env),
  };
}
