import { GatewayClient, type GatewayFlags } from "./client.js";
import { table, type Io } from "./io.js";

interface QueueRow {
  queue: string;
  functions: string[];
  waiting: number;
  running: number;
  redelivered: number;
}

/** `ferry queues`: calls waiting and running per queue. */
export async function queues(flags: GatewayFlags, io: Io): Promise<void> {
  const rows = await new GatewayClient(flags, io).json<QueueRow[]>("GET", "/system/queues");
  if (flags.json) return io.out(JSON.stringify(rows) + "\n");
  io.out(
    table([
      ["QUEUE", "WAITING", "RUNNING", "REDELIVERED", "FUNCTIONS"],
      ...rows.map((q) => [
        q.queue,
        String(q.waiting),
        String(q.running),
        String(q.redelivered),
        q.functions.join(","),
      ]),
    ]),
  );
}
