import { Command, InvalidArgumentError } from "commander";
import { createLogger, onShutdown } from "@ferry/runtime";
import { existsSync } from "node:fs";
import { ConnectorConfigError } from "@ferry/connector-sdk";
import { FunctionsFileError, MissingServerError, up } from "./up.js";
import { deploy } from "./deploy.js";
import { connectorCommand } from "./connector-command.js";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError("not a port number");
  return n;
}

function replicas(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 5) throw new InvalidArgumentError("not 1 to 5");
  return n;
}

function list(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

/** The `ferry` command line. */
export function program(): Command {
  const cli = new Command("ferry")
    .description("Ferry: asynchronous function invocation on NATS JetStream")
    .showHelpAfterError();

  cli
    .command("up")
    .description(
      "run the whole stack locally: NATS and Redis (if not running), the functions, gateway, queue-worker, callbacks",
    )
    .option("-f, --file <path>", "functions file to run", "examples/functions.yaml")
    .option("-p, --port <port>", "gateway port", port, Number(process.env.PORT ?? 8080))
    .option("--host <host>", "gateway interface", process.env.HOST ?? "127.0.0.1")
    .option("--data-dir <path>", "data of the NATS and Redis servers ferry up starts", ".ferry")
    .option("--connectors <paths...>", "connector files or folders (default examples/connectors)")
    .action(async (opts: { file: string; port: number; host: string; dataDir: string }) => {
      const logger = createLogger({
        name: "ferry",
        level: (process.env.LOG_LEVEL as "info") ?? "info",
      });
      try {
        const running = await up({
          ...opts,
          logger,
          connectors: connectorPaths(opts),
          env: process.env,
          ...(process.env.NATS_URL ? { natsUrl: process.env.NATS_URL } : {}),
          ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
          ...(process.env.CALLBACK_ALLOWLIST
            ? { callbackAllowlist: list(process.env.CALLBACK_ALLOWLIST) }
            : {}),
          ...(process.env.CALLBACK_SIGNING_SECRETS
            ? { signingSecrets: list(process.env.CALLBACK_SIGNING_SECRETS) }
            : {}),
        });
        const url = running.stack.gatewayUrl.replace(
          "127.0.0.1",
          opts.host === "0.0.0.0" ? "127.0.0.1" : opts.host,
        );
        printReady(url, [...running.stack.registry.list().map((f) => f.name)]);
        onShutdown(() => running.stop(), { logger, deadlineMs: 30_000 });
      } catch (err) {
        if (err instanceof ConnectorConfigError) {
          process.stderr.write(`ferry up: ${err.message}\n`);
          process.exit(2);
        }
        if (err instanceof FunctionsFileError || err instanceof MissingServerError) {
          process.stderr.write(`ferry up: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
    });
  cli
    .command("deploy")
    .description("store the functions of a file in the registry of a running Ferry (NATS_URL)")
    .requiredOption("-f, --file <path>", "functions file to deploy")
    .option("--replicas <n>", "registry bucket replicas if it is new", replicas, 1)
    .action(deployAction);
  cli.addCommand(connectorCommand());
  return cli;
}

async function deployAction(opts: { file: string; replicas: number }): Promise<void> {
  const logger = createLogger({ name: "ferry", level: "warn" });
  try {
    const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
    const names = await deploy({ ...opts, natsUrl, logger });
    process.stdout.write(`deployed: ${names.join(", ")}\n`);
  } catch (err) {
    if (!(err instanceof FunctionsFileError)) throw err;
    process.stderr.write(`ferry deploy: ${err.message}\n`);
    process.exit(2);
  }
}

/** `--connectors` as given, else `examples/connectors` when it exists. */
function connectorPaths(opts: object): string[] {
  const given = (opts as { connectors?: string[] }).connectors;
  return given ?? (existsSync("examples/connectors") ? ["examples/connectors"] : []);
}

function printReady(url: string, functions: string[]): void {
  const lines = [
    "",
    `Ferry is up. Gateway: ${url}`,
    ...functions.map((f) => `  ${f.padEnd(12)} POST ${url}/async-function/${f}`),
    `  health       ${url}/healthz   metrics ${url}/metrics`,
    "",
    `Try: curl -i -X POST ${url}/async-function/echo -H 'X-Callback-Url: http://127.0.0.1:9999/cb' -d hello`,
    "Ctrl-C stops everything.",
    "",
  ];
  process.stdout.write(lines.join("\n") + "\n");
}
