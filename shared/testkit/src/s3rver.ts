import { join } from "node:path";
import { REPO_ROOT } from "./child.js";
import { startServer, type ServerHandle } from "./server-process.js";

/**
 * Starts s3rver (an S3-compatible server, npm `s3rver`, a dev dependency of the S3 connector) on a
 * free port with its data in a temporary directory and `buckets` created. It needs Node's legacy
 * OpenSSL provider. The handle's `url` is the S3 endpoint (`http://127.0.0.1:PORT`); any access
 * key works with secret `S3RVER`.
 */
export function startS3rver(buckets: string[] = []): Promise<ServerHandle> {
  return startServer({
    command: "node",
    scheme: "http",
    args: (port, dir) => [
      "--openssl-legacy-provider",
      join(REPO_ROOT, "node_modules/s3rver/bin/s3rver.js"),
      "-d",
      dir,
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-s",
      "--no-vhost-buckets",
      ...buckets.flatMap((b) => ["--configure-bucket", b]),
    ],
    install: "Install it with `npm ci` (s3rver is a dev dependency of @ferry/s3-connector).",
  });
}
