import { Command, InvalidArgumentError } from "commander";
import { createLogger, onShutdown } from "@ferry/runtime";
import { startSdk } from "@ferry/runtime/otel";
import { existsSync } from "node:fs";
import { ConnectorConfigError } from "@ferry/connector-sdk";
import { FunctionsFileError, MissingServerError, up } from "./up.js";
import { connectorCommand } from "./connector-command.js";
import { processIo, type Io } from "./commands/io.js";
import { registerCommands } from "./commands/register.js";
import {
  localCredential,
  localSigningSecret,
  type LocalCredential,
  type LocalSecret,
} from "./local-auth.js";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError("not a port number");
  return n;
}

function list(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

/** The `ferry` command line. */
export function program(io: Io = processIo()): Command {
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
    .option("--no-ui", "do not build and serve the dashboard at /ui")
    .action(
      async (opts: { file: string; port: number; host: string; dataDir: string; ui: boolean }) => {
        const logger = createLogger({
          name: "ferry",
          level: (process.env.LOG_LEVEL as "info") ?? "info",
        });
        const otel = await startSdk("ferry");
        try {
          // /system, /ui and /metrics need this credential; made once, kept in the data dir.
          const cred = await localCredential(opts.dataDir);
          // Callbacks are signed: with the given secrets, else with a local one kept beside it.
          const given = process.env.CALLBACK_SIGNING_SECRETS;
          const signing = given ? undefined : await localSigningSecret(opts.dataDir);
          const running = await up({
            ...opts,
            gatewaySecurity: {
              auth: { tokens: [cred.token], users: [{ user: cred.user, password: cred.token }] },
            },
            logger,
            connectors: connectorPaths(opts),
            env: process.env,
            ...(process.env.NATS_URL ? { natsUrl: process.env.NATS_URL } : {}),
            ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
            ...(process.env.CALLBACK_ALLOWLIST
              ? { callbackAllowlist: list(process.env.CALLBACK_ALLOWLIST) }
              : {}),
            signingSecrets: signing ? [signing.value] : list(given ?? ""),
          });
          const url = running.stack.gatewayUrl.replace(
            "127.0.0.1",
            opts.host === "0.0.0.0" ? "127.0.0.1" : opts.host,
          );
          printReady(url, [...running.stack.registry.list().map((f) => f.name)], cred, signing);
          const stop = async () => {
            await running.stop();
            await otel.shutdown();
          };
          onShutdown(stop, { logger, deadlineMs: 30_000 });
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
      },
    );
  registerCommands(cli, io);
  cli.addCommand(connectorCommand());
  return cli;
}

/** `--connectors` as given, else `examples/connectors` when it exists. */
function connectorPaths(opts: object): string[] {
  const given = (opts as { connectors?: string[] }).connectors;
  return given ?? (existsSync("examples/connectors") ? ["examples/connectors"] : []);
}

function printReady(
  url: string,
  functions: string[],
  cred: LocalCredential,
  signing: LocalSecret | undefined,
): void {
  const lines = [
    "",
    `Ferry is up. Gateway: ${url}`,
    ...functions.map((f) => `  ${f.padEnd(12)} POST ${url}/async-function/${f}`),
    `  health       ${url}/healthz   metrics ${url}/metrics   dashboard ${url}/ui/`,
    "",
    // The token itself is printed here once, on the terminal only (never logged).
    `/system, /ui and /metrics need credentials: user "${cred.user}", password = the token in ${cred.file}` +
      (cred.created ? ` (new: ${cred.token})` : ""),
    `  curl -u ${cred.user}:$(cat ${cred.file}) ${url}/system/functions`,
    "  the ferry CLI reads the token from that file by itself (or FERRY_TOKEN / --token)",
    signing
      ? `Callbacks are signed (Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature) with the secret in ${signing.file}`
      : "Callbacks are signed with the secrets in CALLBACK_SIGNING_SECRETS",
    "",
    `Try: curl -i -X POST ${url}/async-function/echo -H 'X-Callback-Url: http://127.0.0.1:9999/cb' -d hello`,
    "Ctrl-C stops everything.",
    "",
  ];
  process.stdout.write(lines.join("\n") + "\n");
}
