// Prints the functions with the most self time in a V8 .cpuprofile: where a service spends CPU.
//   node --import tsx loadtests/bench/src/tools/top-functions.ts bench-results/profiles/X.cpuprofile [N]
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, count = "25"] = process.argv.slice(2);
if (!file) throw new Error("usage: top-functions <file.cpuprofile> [N]");
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[] };
const self = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  total += hits;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    .replace(/^.*node_modules\//, "")
    .replace(/^file:\/\/.*?\/(services|shared|loadtests)\//, "$1/");
  const key = `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + hits);
}
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(count));
for (const [key, hits] of top)
  process.stdout.write(`${((100 * hits) / total).toFixed(1).padStart(5)}%  ${key}\n`);
