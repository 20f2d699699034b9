import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
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

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (malformed request line or
 * headers, CR/LF in a header, headers over the size limit, a request or headers timeout): the
 * JSON error shape written to the socket, which is then closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, reason, body] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [
          408,
          "Request Timeout",
          errorBody("RequestTimeout", "the request was not received in time"),
        ]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [
            431,
            "Request Header Fields Too Large",
            errorBody("HeadersTooLarge", "the headers are larger than the limit"),
          ]
        : [400, "Bad Request", errorBody("BadRequest", "malformed HTTP request")];
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}

/** Fastify's own errors before routing (a malformed URL, an over-long parameter): JSON shape. */
export function frameworkErrors(
  err: FastifyError,
  _req: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 400;
  void reply.code(status).send(errorBody("BadRequest", err.message));
}
