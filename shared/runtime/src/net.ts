import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The lowest port {@link freePort} picks from. */
const LOWEST = 10_000;

/**
 * A TCP port that was free a moment ago on 127.0.0.1, for a server started next. Picked at random
 * below the kernel's ephemeral range, where the outgoing connections of every process on the
 * machine take their ports: a port the kernel handed out with `listen(0)` came from that range,
 * and a busy process could connect from it before the server bound it (a test cluster's node
 * then failed with "address already in use"). Falls back to `listen(0)` where that range leaves
 * too little below it.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralLow();
  if (below - LOWEST >= 1_000) {
    for (let i = 0; i < 20; i++) {
      const port = LOWEST + Math.floor(Math.random() * (below - LOWEST));
      if (await bindable(port)) return port;
    }
  }
  return listenAny();
}

/** The first port of the kernel's ephemeral range (Linux), or Linux's default where unreadable. */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > 0 ? n : 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function listenAny(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
