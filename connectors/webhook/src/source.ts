import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { FerryError, errorBody } from "@ferry/contracts";
import type { EventDraft, Source, SourceContext } from "@ferry/connector-sdk";
import type { Hook, WebhookFile } from "./config.js";
import { verifierOf, type Verifier } from "./verify.js";

/** Headers carried as extensions by default, per verification type. */
const DEFAULT_HEADERS: Record<string, string[]> = {
  github: ["x-github-event", "x-github-delivery", "x-github-hook-id"],
  "standard-webhooks": ["webhook-id"],
  token: [],
};

/** The webhook source: an HTTP server with one route per hook. */
export interface WebhookSource extends Source {
  /** Base URL once started, e.g. `http://127.0.0.1:8086`. */
  url(): string | undefined;
}

/** Builds the webhook source; secrets named by `secretEnv` are read from `env`. */
export function createWebhookSource(
  config: WebhookFile,
  env: Record<string, string | undefined>,
): WebhookSource {
  const hooks = Object.entries(config.hooks).map(([name, hook]) => ({
    name,
    hook,
    verify: verifierOf(hook.verify, secretOf(name, hook, env)),
  }));
  let app: FastifyInstance | undefined;
  let url: string | undefined;
  return {
    kind: "webhook",
    url: () => url,
    async start(ctx) {
      app = buildServer(hooks, ctx);
      await app.listen({ port: config.port, host: config.host });
      const address = app.server.address();
      const port = typeof address === "object" && address ? address.port : config.port;
      url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`;
      ctx.logger.info({ url, hooks: hooks.map((h) => h.name) }, "webhook server listening");
    },
    async stop() {
      await app?.close();
    },
  };
}

function secretOf(name: string, hook: Hook, env: Record<string, string | undefined>): string {
  const value = hook.verify.secret ?? env[hook.verify.secretEnv ?? ""];
  if (!value)
    throw new Error(`hook ${name}: environment variable ${hook.verify.secretEnv} is not set`);
  return value;
}

interface HookRoute {
  name: string;
  hook: Hook;
  verify: Verifier;
}

function buildServer(hooks: HookRoute[], ctx: SourceContext): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof FerryError) return reply.code(err.status).send(err.toBody());
    if (err.statusCode === 413) {
      return reply
        .code(413)
        .send(errorBody("PayloadTooLarge", "body is larger than the hook's limit"));
    }
    if (err.statusCode && err.statusCode < 500)
      return reply.code(err.statusCode).send(errorBody("BadRequest", err.message));
    ctx.logger.error({ err }, "webhook request failed");
    return reply.code(500).send(errorBody("Internal", "internal error"));
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(errorBody("NotFound", `no hook at ${req.method} ${req.url.split("?")[0]}`)),
  );
  for (const route of hooks) {
    app.post(`/hooks/${route.name}`, { bodyLimit: route.hook.maxBodyBytes }, (req, reply) =>
      accept(route, req, reply, ctx),
    );
  }
  app.get("/healthz", (_req, reply) => reply.send("ok"));
  return app;
}

async function accept(
  route: HookRoute,
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: SourceContext,
): Promise<unknown> {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const log = ctx.logger.child({ hook: route.name, topic: route.hook.topic });
  const verdict = route.verify(req.headers, body, Date.now());
  if (!verdict.ok) {
    log.warn({ reason: verdict.reason }, "webhook rejected");
    throw new FerryError("Unauthorized", `verification failed: ${verdict.reason}`);
  }
  const draft = toEvent(route, req, body, verdict.deliveryId);
  try {
    await ctx.publish(draft, { retry: false });
  } catch (err) {
    log.warn({ err, eventId: draft.id }, "webhook not published");
    reply.header("retry-after", "1");
    throw new FerryError("Unavailable", "events are unavailable, retry later", { cause: err });
  }
  log.info({ eventId: draft.id }, "webhook accepted");
  return reply.code(202).header("ce-id", draft.id).send({ id: draft.id, status: "accepted" });
}

function toEvent(
  route: HookRoute,
  req: FastifyRequest,
  body: Buffer,
  deliveryId?: string,
): EventDraft {
  const h = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const extensions: Record<string, string> = {};
  for (const name of route.hook.headers ?? DEFAULT_HEADERS[route.hook.verify.type] ?? []) {
    const value = h(name);
    if (value !== undefined) extensions[extensionName(name)] = value;
  }
  const ghEvent = route.hook.verify.type === "github" ? h("x-github-event") : undefined;
  const draft: EventDraft = {
    topic: route.hook.topic,
    id: deliveryId ?? randomUUID(),
    type: ghEvent ? `com.github.${ghEvent}` : `dev.ferry.webhook.${route.name}`,
    data: body,
    time: new Date().toISOString(),
    subject: route.name,
    extensions,
  };
  const contentType = h("content-type");
  if (contentType) draft.datacontenttype = contentType;
  const traceparent = h("traceparent");
  if (traceparent) draft.traceparent = traceparent;
  return draft;
}

/** `x-github-event` → `githubevent`: CloudEvents extension names are lower-case alphanumeric. */
export function extensionName(header: string): string {
  return header
    .toLowerCase()
    .replace(/^x-/, "")
    .replace(/[^a-z0-9]/g, "")
    .slice(0, 20);
}
