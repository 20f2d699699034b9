import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";

/** A connector config file that cannot be used: one line naming the file, line, path and reason. */
export class ConnectorConfigError extends Error {
  override name = "ConnectorConfigError";
  readonly code = "FERRY_ERR_CONNECTOR_CONFIG";
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${file}${line === undefined ? "" : `:${line}`}: ${path}: ${reason}`);
  }
}

/** A parsed YAML file that keeps its positions, for error messages. */
export interface YamlFile {
  file: string;
  data: unknown;
  /** Line of the node at `path`, or of its nearest existing ancestor. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
}

/** Reads and parses a YAML file; syntax errors throw {@link ConnectorConfigError}. */
export async function readYamlFile(file: string): Promise<YamlFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConnectorConfigError(file, undefined, "(file)", (err as Error).message);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0].line;
    const reason = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    throw new ConnectorConfigError(file, line, "(yaml)", reason);
  }
  return { file, data: doc.toJS() as unknown, lineOf: (path) => lineOf(doc, lineCounter, path) };
}

function lineOf(
  doc: Document,
  counter: LineCounter,
  path: readonly PropertyKey[],
): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number] } | undefined;
    if (node?.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Validates a parsed file with a zod schema; the first problem throws {@link ConnectorConfigError}. */
export function validateYaml<S extends z.ZodType>(yaml: YamlFile, schema: S): z.output<S> {
  const result = schema.safeParse(yaml.data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ConnectorConfigError(yaml.file, undefined, "(root)", "invalid");
  let path = issue.path;
  let reason = issue.message;
  if (issue.code === "unrecognized_keys") {
    path = [...issue.path, issue.keys[0] ?? ""];
    reason = `unknown key "${issue.keys[0]}"`;
  } else if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) {
    reason = "is required";
  }
  const more = result.error.issues.length - 1;
  const suffix = more > 0 ? ` (and ${more} more problem${more > 1 ? "s" : ""})` : "";
  throw new ConnectorConfigError(
    yaml.file,
    yaml.lineOf(path),
    path.map(String).join(".") || "(root)",
    reason + suffix,
  );
}
