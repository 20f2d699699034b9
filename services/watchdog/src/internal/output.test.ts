import { PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import { splitLines } from "./output.js";

function collect(chunks: string[], max: number): Promise<string[]> {
  const stream = new PassThrough();
  const lines: string[] = [];
  splitLines(stream, max, (line) => lines.push(line.toString()));
  return new Promise((resolve) => {
    stream.on("end", () => resolve(lines));
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
  });
}

describe("function output", () => {
  test("function output - lines joined across chunks, CRLF and a last unterminated line", async () => {
    expect(await collect(["one\ntw", "o\r\nthr", "ee"], 100)).toEqual(["one", "two", "three"]);
  });

  test("function output - lines longer than log_buffer_size are split", async () => {
    expect(await collect(["abcdefghij\nxy", "z\n"], 4)).toEqual(["abcd", "efgh", "ij", "xyz"]);
  });
});
