// The echo function: answers every request with its own body and content type.
// It listens on PORT, which the watchdog's upstream_url points at.
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 3000);

createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    res.writeHead(200, {
      "content-type": req.headers["content-type"] ?? "application/octet-stream",
      "x-echo-method": req.method,
      "x-echo-path": req.url,
    });
    res.end(body);
  });
}).listen(port, "127.0.0.1", () => console.log(`echo listening on ${port}`));
