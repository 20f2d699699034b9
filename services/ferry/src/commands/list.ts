import type { FunctionSpec } from "@ferry/contracts";
import { GatewayClient, type GatewayFlags } from "./client.js";
import { table, type Io } from "./io.js";

/** A function as `/system/functions` lists it. */
export type ListedFunction = FunctionSpec & {
  status: { ready: number | null; desired: number | null; queued: number; inflight: number | null };
};

/** `ferry list`: every function with its replicas, queued and running calls. */
export async function list(flags: GatewayFlags, io: Io): Promise<void> {
  const fns = await new GatewayClient(flags, io).json<ListedFunction[]>("GET", "/system/functions");
  if (flags.json) return io.out(JSON.stringify(fns) + "\n");
  if (fns.length === 0) return io.out("no functions\n");
  const rows = fns.map((f) => [
    f.name,
    f.queue,
    f.watchdog ? `${f.status.ready ?? 0}/${f.status.desired ?? "-"}` : "-",
    String(f.status.queued),
    String(f.status.inflight ?? "-"),
    f.watchdog ? `watchdog ${f.watchdog.mode}` : (f.url ?? ""),
  ]);
  io.out(table([["NAME", "QUEUE", "READY", "QUEUED", "INFLIGHT", "RUNS"], ...rows]));
}

/** `ferry describe NAME`: one function's spec and status. */
export async function describe(flags: GatewayFlags & { name: string }, io: Io): Promise<void> {
  const client = new GatewayClient(flags, io);
  const fn = await client.json<ListedFunction>("GET", `/system/functions/${flags.name}`);
  if (flags.json) return io.out(JSON.stringify(fn) + "\n");
  const { stringify } = await import("yaml");
  io.out(stringify(fn));
}

/** `ferry remove NAME`. */
export async function remove(flags: GatewayFlags & { name: string }, io: Io): Promise<void> {
  await new GatewayClient(flags, io).json("DELETE", `/system/functions/${flags.name}`);
  io.out(
    flags.json
      ? JSON.stringify({ name: flags.name, removed: true }) + "\n"
      : `removed ${flags.name}\n`,
  );
}
