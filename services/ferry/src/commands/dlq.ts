import { GatewayClient, type GatewayFlags } from "./client.js";
import { CliError, table, type Io } from "./io.js";

interface DeadLetter {
  callId: string;
  function: string;
  seq?: number;
  reason?: string;
  error?: string;
  attempts?: number;
  deadLetteredAt?: number | string;
  [key: string]: unknown;
}

/** `ferry dlq list [--function F] [--limit N]`: dead letters from `GET /system/dlq`. */
export async function dlqList(
  flags: GatewayFlags & { function?: string; limit?: number },
  io: Io,
): Promise<void> {
  const query = new URLSearchParams();
  if (flags.function) query.set("function", flags.function);
  if (flags.limit) query.set("limit", String(flags.limit));
  const qs = query.size > 0 ? `?${query}` : "";
  const page = await new GatewayClient(flags, io).json<unknown>("GET", `/system/dlq${qs}`);
  if (flags.json) return io.out(JSON.stringify(page) + "\n");
  const letters = lettersOf(page);
  if (letters.length === 0) return io.out("no dead letters\n");
  io.out(
    table([
      ["CALL ID", "FUNCTION", "ATTEMPTS", "REASON"],
      ...letters.map((l) => [
        l.callId,
        l.function,
        String(l.attempts ?? ""),
        String(l.reason ?? l.error ?? ""),
      ]),
    ]),
  );
}

/** `ferry dlq redrive [CALL_ID...] [--function F]`: `POST /system/dlq/redrive`. */
export async function dlqRedrive(
  flags: GatewayFlags & { callIds: string[]; function?: string },
  io: Io,
): Promise<void> {
  if (flags.callIds.length === 0 && !flags.function) {
    throw new CliError("give call ids or --function NAME", 2);
  }
  const body = flags.callIds.length > 0 ? { callIds: flags.callIds } : { function: flags.function };
  const out = await new GatewayClient(flags, io).json<{ redriven: string[]; notFound: string[] }>(
    "POST",
    "/system/dlq/redrive",
    body,
  );
  if (flags.json) return io.out(JSON.stringify(out) + "\n");
  io.out(`redriven: ${out.redriven.length}\n`);
  if (out.notFound.length > 0) io.out(`not found: ${out.notFound.join(", ")}\n`);
}

// The list answers either an array or a page object with the letters under `items`/`letters`.
function lettersOf(page: unknown): DeadLetter[] {
  if (Array.isArray(page)) return page as DeadLetter[];
  const obj = page as { items?: DeadLetter[]; letters?: DeadLetter[] };
  return obj.items ?? obj.letters ?? [];
}
