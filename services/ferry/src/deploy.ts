import type { Logger } from "pino";
import { connectNats, openFunctionRegistry } from "@ferry/jetstream";
import { loadFunctionsFile } from "./functions.js";

/** Options of {@link deploy}. */
export interface DeployOptions {
  /** The functions file to store in the registry. */
  file: string;
  /** NATS server URLs, comma-separated. */
  natsUrl: string;
  /** Replicas of the registry bucket when it does not exist yet: 3 in a cluster. */
  replicas: number;
  logger: Logger;
}

/**
 * Validates a functions file, then stores every spec in the function registry, where the
 * gateway and workers see it at once. The minimal form of `ferry deploy`: it creates and
 * replaces functions, it does not remove those missing from the file.
 */
export async function deploy(opts: DeployOptions): Promise<string[]> {
  const specs = await loadFunctionsFile(opts.file);
  const local = specs.filter((s) => s.url === undefined).map((s) => s.name);
  if (local.length > 0) {
    // Workers outside `ferry up` reach a function only through its url.
    opts.logger.warn({ functions: local }, "functions without a url are only served by ferry up");
  }
  const nc = await connectNats({
    servers: opts.natsUrl,
    name: "ferry-deploy",
    logger: opts.logger,
    firstConnectTimeoutMs: 10_000,
  });
  try {
    const registry = await openFunctionRegistry(nc, {
      logger: opts.logger,
      replicas: opts.replicas,
    });
    for (const spec of specs) await registry.put(spec);
    await registry.close();
  } finally {
    await nc.drain();
  }
  return specs.map((s) => s.name);
}
