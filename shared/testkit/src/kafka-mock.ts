import { spawn } from "node:child_process";

/** A Kafka-protocol mock cluster (librdkafka's, hosted by a `kcat` process). */
export interface KafkaMock {
  /** `host:port` of the mock broker. */
  bootstrap: string;
  /** Ends the kcat process, and with it the cluster and all its data. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts librdkafka's mock cluster inside `kcat`. kcat runs as a producer reading stdin, which
 * stays open, so the process (and the cluster) lives until {@link KafkaMock.stop}. The mock speaks
 * produce, fetch, consumer groups and offset commits; topics are auto-created (4 partitions,
 * librdkafka's mock default). Admin requests (CreateTopics) are not supported.
 */
export async function startKafkaMock(): Promise<KafkaMock> {
  const args = [
    "-X",
    "test.mock.num.brokers=1",
    "-d",
    "mock",
    "-b",
    "127.0.0.1:1",
    "-P",
    "-t",
    "__testkit_keepalive",
  ];
  const proc = spawn("kcat", args, { stdio: ["pipe", "ignore", "pipe"] });
  let log = "";
  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kcat mock did not start: ${log}`)), 10_000);
    proc.once("error", (err) => {
      clearTimeout(timer);
      reject(
        new Error(`cannot start kcat: ${err.message}. Install it with \`apt-get install kcat\`.`),
      );
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`kcat exited with ${code}: ${log.slice(-2000)}`));
    });
    proc.stderr.on("data", (d: Buffer) => {
      if (log.length < 8000) log += d.toString();
      const m = /bootstrap\.servers=(127\.0\.0\.1:\d+)/.exec(log);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  // The mock logs every request at debug level; keep reading so the pipe never fills.
  proc.stderr.removeAllListeners("data");
  proc.stderr.resume();
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await exited;
  };
  return { bootstrap, stop, [Symbol.asyncDispose]: stop };
}
