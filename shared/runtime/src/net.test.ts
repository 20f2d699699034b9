import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { expect, test } from "vitest";
import { freePort } from "./net.js";

test("freePort: a port a server can then listen on, below the range outgoing connections use", async () => {
  const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
  const ports = await Promise.all(Array.from({ length: 10 }, () => freePort()));
  for (const port of ports) {
    // Outgoing connections take their ports from the ephemeral range; a listener there can lose
    // its port to one between the pick and the bind.
    expect(port).toBeLessThan(Number(low));
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  }
});
