// npm run bench [-- --quick] [-- --profile] [-- --workers N] [-- watchdog|baseline|ferry ...]
// Measures Ferry beside raw baselines in one run, prints a table and saves it as JSON.
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { connect } from "@nats-io/transport-node";
import { startNats, startRedis } from "@ferry/testkit";
import { printTable, saveJson, type Row } from "./report.js";
import { benchArgs, settingsFor } from "./settings.js";
import { httpBaselines } from "./scenarios/baselines.js";
import { ferryScenarios } from "./scenarios/ferry.js";
import { rawJetStream } from "./scenarios/jetstream.js";
import { watchdogScenarios } from "./scenarios/watchdog.js";

const { flags, workers, positional: groups } = benchArgs(process.argv.slice(2));
const quick = flags.has("--quick");
const profileDir = flags.has("--profile") ? resolve("bench-results/profiles") : undefined;
const wants = (g: string): boolean => groups.length === 0 || groups.includes(g);
const s = settingsFor(quick, workers);
const rows: Row[] = [];
const loadBefore = loadavg();

const nats = await startNats();
const redis = await startRedis();
const nc = await connect({ servers: nats.url });
try {
  if (wants("baseline") || wants("ferry")) {
    // Tens of thousands of operations a second: half the time is plenty for --quick.
    rows.push(...(await rawJetStream(nats.url, quick ? s.seconds / 2 : s.seconds)));
    rows.push(...(await httpBaselines(nats.url, s, !wants("ferry"))));
  }
  if (wants("ferry")) rows.push(...(await ferryScenarios(nc, nats.url, redis.url, s, profileDir)));
  if (wants("watchdog")) rows.push(...(await watchdogScenarios(s)));
} finally {
  await nc.close();
  await Promise.all([nats.stop(), redis.stop()]);
}

printTable(rows);
const context = {
  quick,
  seconds: s.seconds,
  repeats: s.repeats,
  workers: s.workers,
  cpus: cpus().length,
  loadBefore,
  loadAfter: loadavg(),
};
const file = await saveJson("bench-results", rows, context);
process.stdout.write(
  `\nload average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${context.loadAfter.map((l) => l.toFixed(2)).join(" ")}; saved ${file}\n`,
);
