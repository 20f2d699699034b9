import { readFile } from "node:fs/promises";
import { parse, YAMLParseError } from "yaml";
import { parseFunctionsFile, type FunctionSpec, type SpecIssue } from "@ferry/contracts";

/** A functions file that cannot be used; the message names the file, the path and the reason. */
export class FunctionsFileError extends Error {
  override name = "FunctionsFileError";
  readonly code = "FERRY_ERR_FUNCTIONS_FILE";
  constructor(
    readonly file: string,
    readonly issues: SpecIssue[],
  ) {
    super(issues.map((i) => `${file}: ${i.path}: ${i.message}`).join("\n"));
  }
}

/** Reads and validates a `functions.yaml`; throws {@link FunctionsFileError} listing every problem. */
export async function loadFunctionsFile(file: string): Promise<FunctionSpec[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new FunctionsFileError(file, [{ path: "(file)", message: (err as Error).message }]);
  }
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: true });
  } catch (err) {
    const message =
      err instanceof YAMLParseError ? (err.message.split("\n")[0] ?? err.message) : String(err);
    throw new FunctionsFileError(file, [{ path: "(yaml)", message }]);
  }
  const parsed = parseFunctionsFile(doc);
  if (!parsed.ok) throw new FunctionsFileError(file, parsed.issues);
  return parsed.functions;
}
