// The upstream used everywhere: a plain Node HTTP server echoing the body.
import { createServer } from "node:http";

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(Buffer.concat(chunks));
  });
}).listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("target ready\n"));
