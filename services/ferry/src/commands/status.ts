import { GatewayClient, type GatewayFlags } from "./client.js";
import { table, type Io } from "./io.js";

/** `ferry status CALL_ID`: a call's state from `GET /async-function/status/:callId`. */
export async function status(flags: GatewayFlags & { callId: string }, io: Io): Promise<void> {
  const client = new GatewayClient(flags, io);
  const call = await client.json<Record<string, unknown>>(
    "GET",
    `/async-function/status/${encodeURIComponent(flags.callId)}`,
  );
  if (flags.json) return io.out(JSON.stringify(call) + "\n");
  const rows = Object.entries(call)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]);
  io.out(table(rows));
}
