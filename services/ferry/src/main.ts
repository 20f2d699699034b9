import { program } from "./cli.js";
import { CliError } from "./commands/io.js";

try {
  await program().parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CliError)) throw err;
  process.stderr.write(`ferry: ${err.message}\n`);
  process.exitCode = err.exitCode;
}
