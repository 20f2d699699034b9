import { startServer, type ServerHandle } from "./server-process.js";

/** Starts `nats-server` with JetStream on a free port, file storage in a temporary directory. */
export function startNats(opts: { extraArgs?: string[] } = {}): Promise<ServerHandle> {
  return startServer({
    command: "nats-server",
    scheme: "nats",
    args: (port, dir) => [
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-js",
      "-sd",
      dir,
      ...(opts.extraArgs ?? []),
    ],
    install: "Install it with `apt-get install nats-server`.",
  });
}

/** Starts `redis-server` on a free port with its data in a temporary directory (AOF optional). */
export function startRedis(opts: { appendOnly?: boolean } = {}): Promise<ServerHandle> {
  return startServer({
    command: "redis-server",
    scheme: "redis",
    args: (port, dir) => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      opts.appendOnly ? "yes" : "no",
      "--appendfsync",
      "always",
    ],
    install: "Install it with `apt-get install redis-server`.",
  });
}
