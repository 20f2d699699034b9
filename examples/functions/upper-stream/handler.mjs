// Upper-cases stdin to stdout chunk by chunk; pipeline() keeps backpressure end to end.
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";

// Decoded as UTF-8 by the stream, so a character split across two chunks stays whole.
process.stdin.setEncoding("utf8");

const upper = new Transform({
  decodeStrings: false,
  transform(chunk, _encoding, done) {
    done(null, chunk.toUpperCase());
  },
});

await pipeline(process.stdin, upper, process.stdout);
