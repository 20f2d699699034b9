import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import {
  FunctionSpec,
  Streams,
  encodeEvent,
  eventMsgId,
  eventSubject,
  type FunctionSpecInput,
} from "@ferry/contracts";
import { toMsgHdrs, type NatsConnection } from "@ferry/jetstream";

/** Directory of the test fixtures. */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

/** Spec of the recorder fixture, run behind the watchdog, logging runs to `runLog`. */
export function recorderSpec(name: string, runLog: string, queue = "default"): FunctionSpec {
  return FunctionSpec.parse({
    name,
    queue,
    watchdog: { fprocess: "node recorder.js", mode: "http" },
    env: { RUN_LOG: runLog },
    timeout: 30_000,
  });
}

/** How many times each call id ran, from a recorder's run log. */
export async function runsById(runLog: string): Promise<Map<string, number>> {
  const text = await readFile(runLog, "utf8").catch(() => "");
  const runs = new Map<string, number>();
  for (const id of text.split("\n").filter(Boolean)) runs.set(id, (runs.get(id) ?? 0) + 1);
  return runs;
}

/** The sequence number of the last message ever stored in FERRY_INVOKE. */
export async function lastInvokeSeq(nc: NatsConnection): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(Streams.Invoke)).state.last_seq;
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Publishes a CloudEvent straight to FERRY_EVENTS as a connector would (binary mode, dedupe id). */
export async function publishTestEvent(
  nc: NatsConnection,
  topic: string,
  id: string,
  data = `data of ${id}`,
): Promise<void> {
  const source = "/test/events";
  const pairs = encodeEvent({
    specversion: "1.0",
    id,
    source,
    type: "dev.ferry.test",
    datacontenttype: "text/plain",
    extensions: { origin: "test" },
  });
  await jetstream(nc).publish(eventSubject(topic), data, {
    msgID: eventMsgId(source, id),
    headers: toMsgHdrs(pairs),
  });
}

/** One run seen by the flaky fixture. */
export interface Run {
  callId: string;
  attempt: number;
  maxAttempts: string;
  at: number;
  /** Runs of the function in flight when this one started, itself included. */
  inflight: number;
}

/** Spec of the flaky fixture, served at `url`, logging runs to `runLog`. */
export function flakySpec(
  name: string,
  url: string,
  overrides: Partial<FunctionSpecInput> = {},
): FunctionSpec {
  return FunctionSpec.parse({
    name,
    queue: "default",
    url,
    env: {},
    timeout: 30_000,
    ...overrides,
  });
}

/** Every run from a flaky fixture's run log, in order. */
export async function readRuns(runLog: string): Promise<Run[]> {
  const text = await readFile(runLog, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [callId = "", attempt, maxAttempts = "", at, inflight] = line.split(" ");
      return {
        callId,
        attempt: Number(attempt),
        maxAttempts,
        at: Number(at),
        inflight: Number(inflight),
      };
    });
}
