import { type Command, InvalidArgumentError } from "commander";
import type { GatewayFlags } from "./client.js";
import { deploy } from "./deploy.js";
import { dlqList, dlqRedrive } from "./dlq.js";
import { invoke } from "./invoke.js";
import type { Io } from "./io.js";
import { describe, list, remove } from "./list.js";
import { queues } from "./queues.js";
import { status } from "./status.js";

const collect = (value: string, all: string[]): string[] => [...all, value];
const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("not a positive integer");
  return n;
};

/** Adds the gateway client commands (deploy, list, invoke, …) to the `ferry` program. */
export function registerCommands(cli: Command, io: Io): void {
  cli
    .option(
      "-g, --gateway <url>",
      "gateway URL (env FERRY_GATEWAY_URL, default http://127.0.0.1:8080)",
    )
    .option("--token <token>", "bearer token for the gateway (env FERRY_TOKEN)")
    .option(
      "--basic-auth <user:password>",
      "basic credentials for the gateway (env FERRY_BASIC_AUTH)",
    )
    .option("--json", "print JSON for scripts instead of tables");
  const g = (cmd: Command): GatewayFlags => cmd.optsWithGlobals<GatewayFlags>();

  cli
    .command("deploy")
    .description("validate a functions file, then create or update its functions")
    .requiredOption("-f, --file <path>", "functions file")
    .option("--dry-run", "print what would change and change nothing")
    .action((opts: { file: string; dryRun?: boolean }, cmd: Command) =>
      deploy({ ...g(cmd), ...opts }, io),
    );
  cli
    .command("list")
    .alias("ls")
    .description("list functions with ready/desired replicas, queued and running calls")
    .action((_opts, cmd: Command) => list(g(cmd), io));
  cli
    .command("describe <name>")
    .description("show a function's spec and status")
    .action((name: string, _opts, cmd: Command) => describe({ ...g(cmd), name }, io));
  cli
    .command("remove <name>")
    .alias("rm")
    .description("remove a function (its queued calls fail as unknown)")
    .action((name: string, _opts, cmd: Command) => remove({ ...g(cmd), name }, io));
  cli
    .command("invoke <name>")
    .description(
      "call a function with the body read from stdin; prints the answer, or the call id with --async",
    )
    .option("-a, --async", "queue the call and print its call id")
    .option("--callback-url <url>", "where the result of an async call is POSTed")
    .option("--idempotency-key <key>", "a repeat with the same key runs once")
    .option("-H, --header <name=value>", "request header (repeatable)", collect, [])
    .option("-m, --method <method>", "HTTP method of a sync call", "POST")
    .action((name: string, opts: Record<string, unknown>, cmd: Command) =>
      invoke({ ...g(cmd), ...(opts as { header: string[]; method: string }), name }, io),
    );
  cli
    .command("status <callId>")
    .description("show an async call's state and result summary")
    .action((callId: string, _opts, cmd: Command) => status({ ...g(cmd), callId }, io));
  cli
    .command("queues")
    .description("calls waiting and running per queue")
    .action((_opts, cmd: Command) => queues(g(cmd), io));
  const dlq = cli.command("dlq").description("dead-lettered calls");
  dlq
    .command("list")
    .description("list dead letters")
    .option("--function <name>", "only this function's")
    .option("--limit <n>", "page size", positive)
    .action((opts: { function?: string; limit?: number }, cmd: Command) =>
      dlqList({ ...g(cmd), ...opts }, io),
    );
  dlq
    .command("redrive [callIds...]")
    .description("queue dead letters again: the given call ids, or all of --function")
    .option("--function <name>", "every dead letter of this function")
    .action((callIds: string[], opts: { function?: string }, cmd: Command) =>
      dlqRedrive({ ...g(cmd), ...opts, callIds }, io),
    );
}
