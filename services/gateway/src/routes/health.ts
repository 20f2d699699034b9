import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { renderMetrics } from "@ferry/runtime";

/** `/healthz` (alive), `/readyz` (can accept calls) and `/metrics`. */
export function healthRoutes(
  app: FastifyInstance,
  opts: { ready: () => boolean; registries: Registry[] },
): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const ready = opts.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready" });
  });
  app.get("/metrics", async (_req, reply) => {
    const { type, body } = await renderMetrics(opts.registries);
    return reply.type(type).send(body);
  });
}
