import type { FastifyInstance } from "fastify";
import fastifyStatic from "@fastify/static";
import { errorBody } from "@ferry/contracts";

/**
 * Serves the dashboard's built files under `/ui`. Paths without a file extension that match no
 * file get `index.html` (the dashboard routes in the browser); missing assets get a JSON 404.
 */
export async function dashboardUi(app: FastifyInstance, opts: { root: string }): Promise<void> {
  app.get("/ui", async (_req, reply) => reply.redirect("/ui/"));
  await app.register(
    async (ui) => {
      await ui.register(fastifyStatic, {
        root: opts.root,
        prefix: "/",
        index: ["index.html"],
        // Hashed asset names never change content; index.html is read on every visit.
        setHeaders(res, path) {
          res.header(
            "cache-control",
            path.endsWith(".html") ? "no-cache" : "public, max-age=31536000, immutable",
          );
        },
      });
      ui.setNotFoundHandler((req, reply) => {
        const path = req.url.split("?")[0] ?? "";
        if (req.method !== "GET" || /\.[a-z0-9]+$/i.test(path)) {
          return reply.code(404).send(errorBody("NotFound", `no file ${path}`));
        }
        return reply.type("text/html").header("cache-control", "no-cache").sendFile("index.html");
      });
    },
    { prefix: "/ui" },
  );
}
