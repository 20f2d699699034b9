import { load, median } from "../load.js";
import { startTarget } from "../procs.js";
import type { Row } from "../report.js";
import type { BenchSettings } from "../settings.js";

const BODY = "x".repeat(1024);

/**
 * A bare Fastify endpoint and a minimal gateway (Fastify + one awaited JetStream publish); without
 * `minimalGateway`, the Ferry scenarios measure the minimal gateway in turns with Ferry's.
 */
export async function httpBaselines(
  natsUrl: string,
  s: BenchSettings,
  minimalGateway = true,
): Promise<Row[]> {
  const rows: Row[] = [];
  // No goal is measured against it: --quick leaves it out, to stay under a minute.
  if (!s.quick) {
    const bare = await startTarget("loadtests/bench/src/targets/fastify-bare.ts");
    try {
      const r = await median(s.repeats, () =>
        load({ url: bare.url, body: BODY, connections: 50, durationSec: s.seconds }),
      );
      rows.push({ group: "baseline", name: "bare Fastify POST (50 conns)", ...r });
    } finally {
      await bare.stop();
    }
  }
  if (!minimalGateway) return rows;
  const minimal = await startTarget("loadtests/bench/src/targets/minimal-gateway.ts", {
    NATS_URL: natsUrl,
  });
  try {
    const r = await median(s.repeats, () =>
      load({ url: minimal.url, body: BODY, connections: 50, durationSec: s.seconds }),
    );
    rows.push({
      group: "baseline",
      name: "minimal gateway: Fastify + awaited publish (50 conns)",
      ...r,
    });
  } finally {
    await minimal.stop();
  }
  return rows;
}
