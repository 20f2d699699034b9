import { S3Client } from "@aws-sdk/client-s3";
import type { FastifyInstance } from "fastify";
import type { Source } from "@ferry/connector-sdk";
import type { S3File } from "./config.js";
import { pollOnce, s3ClientConfig } from "./poll.js";
import { buildPushServer } from "./push.js";

/** The S3 source: a notifications server (push), a bucket poller (poll), or both. */
export interface S3Source extends Source {
  /** Base URL of the push server once started. */
  url(): string | undefined;
  /** Resolves after the next completed poll, with its event count (for tests and tools). */
  nextPoll(): Promise<number>;
}

/** Builds the S3 source; the MinIO token and S3 credentials named by `*Env` are read from `env`. */
export function createS3Source(config: S3File, env: Record<string, string | undefined>): S3Source {
  const minioToken = config.push?.minio
    ? (config.push.minio.token ?? env[config.push.minio.tokenEnv ?? ""])
    : undefined;
  if (config.push?.minio && !minioToken) {
    throw new Error(`push.minio: environment variable ${config.push.minio.tokenEnv} is not set`);
  }
  const s3 = config.poll ? new S3Client(s3ClientConfig(config.poll, env)) : undefined;
  let app: FastifyInstance | undefined;
  let url: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const waiters: Array<(n: number) => void> = [];
  return {
    kind: "s3",
    url: () => url,
    nextPoll: () => new Promise((r) => waiters.push(r)),
    async start(ctx) {
      if (config.push) {
        app = buildPushServer(config.push, config.topic, minioToken, ctx);
        await app.listen({ port: config.push.port, host: config.push.host });
        const address = app.server.address();
        const port = typeof address === "object" && address ? address.port : config.push.port;
        url = `http://${config.push.host === "0.0.0.0" ? "127.0.0.1" : config.push.host}:${port}`;
        ctx.logger.info({ url }, "s3 notifications server listening");
      }
      const poll = config.poll;
      if (poll && s3) {
        const log = ctx.logger.child({ bucket: poll.bucket, prefix: poll.prefix });
        const tick = (): void => {
          polling = pollOnce(s3, poll, config.topic, ctx)
            .then((n) => {
              log.info({ events: n }, "bucket polled");
              for (const w of waiters.splice(0)) w(n);
            })
            .catch((err: unknown) => {
              if (!ctx.signal.aborted) log.warn({ err }, "bucket poll failed");
            })
            .finally(() => {
              if (!stopped) timer = setTimeout(tick, poll.interval);
            });
        };
        tick();
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await app?.close();
      await polling;
      s3?.destroy();
    },
  };
}
