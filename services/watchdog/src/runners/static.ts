import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { WatchdogError } from "../errors.js";
import type { ModeRunner, WatchdogResponse } from "./runner.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".pdf": "application/pdf",
};

/** A static file's 404 is the function's answer, not a platform error: no `X-Ferry-Internal`. */
const notFound = (): WatchdogError =>
  new WatchdogError("NotFound", "no such file", { internal: false });

/**
 * static mode: serves files under `root` (GET and HEAD; a directory serves its index.html).
 * Paths are resolved and then real-pathed, so neither `..` nor a symlink can leave the root.
 */
export function createStaticRunner(opts: { root: string }): ModeRunner {
  let root = resolve(opts.root);
  return {
    run(req, res) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return res.fail(
          new WatchdogError("MethodNotAllowed", "static files answer GET and HEAD", {
            internal: false,
          }),
        );
      }
      void serve(root, req.url ?? "/", req.method === "HEAD", res).catch(() =>
        res.fail(notFound()),
      );
    },
    async start() {
      root = await realpath(root);
      if (!(await stat(root)).isDirectory())
        throw new Error(`static_path is not a directory: ${root}`);
    },
    ready: () => true,
    stop: async () => {},
  };
}

async function serve(
  root: string,
  url: string,
  head: boolean,
  res: WatchdogResponse,
): Promise<void> {
  const pathname = decodeURIComponent(url.split("?", 1)[0] as string);
  if (pathname.includes("\0")) throw new Error("bad path");
  let file = await realpath(join(root, pathname));
  if (file !== root && !file.startsWith(root + sep)) throw new Error("outside the root");
  let info = await stat(file);
  if (info.isDirectory()) {
    file = await realpath(join(file, "index.html"));
    if (!file.startsWith(root + sep)) throw new Error("outside the root");
    info = await stat(file);
  }
  if (!info.isFile()) throw new Error("not a file");
  res.writeHead(200, {
    "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "content-length": info.size,
    "last-modified": info.mtime.toUTCString(),
    "x-duration-seconds": res.durationSeconds(),
  });
  if (head) return void res.end();
  createReadStream(file)
    .on("error", () => res.destroy())
    .pipe(res);
}
