import type { FastifyError, FastifyInstance } from "fastify";
import { FerryError, errorBody } from "@ferry/contracts";

/** Maps every error to `{ error: { code, message } }` with the right status; never leaks internals. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | FerryError, req, reply) => {
    if (err instanceof FerryError) {
      if (err.status >= 500) req.log.warn({ err }, err.message);
      return reply.code(err.status).send(err.toBody());
    }
    const status = err.statusCode ?? 500;
    if (status === 413) {
      return reply
        .code(413)
        .send(errorBody("PayloadTooLarge", "request body is larger than the limit"));
    }
    if (status === 415) return reply.code(415).send(errorBody("UnsupportedMediaType", err.message));
    if (status >= 400 && status < 500)
      return reply.code(status).send(errorBody("BadRequest", err.message));
    req.log.error({ err }, "unhandled error");
    return reply.code(500).send(errorBody("Internal", "internal error"));
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(errorBody("NotFound", `no route for ${req.method} ${req.url.split("?")[0]}`)),
  );
}
