import { describe, expect, test } from "vitest";
import { loadConfig, parseCommand, parseSeconds } from "./config.js";

describe("config", () => {
  test("config - of-watchdog defaults", () => {
    const config = loadConfig({
      fprocess: "node server.js",
      upstream_url: "http://127.0.0.1:3000",
    });
    expect(config).toMatchObject({
      mode: "http",
      port: 8080,
      metrics_port: 8081,
      read_timeout: 10_000,
      write_timeout: 10_000,
      exec_timeout: 10_000,
      healthcheck_interval: 10_000,
      max_inflight: 0,
      prefix_logs: true,
      suppress_lock: false,
      pool_size: 0,
    });
  });

  test("config - bare numbers are seconds, durations keep their unit", () => {
    expect(parseSeconds("30")).toBe(30_000);
    expect(parseSeconds("1.5")).toBe(1500);
    expect(parseSeconds("250ms")).toBe(250);
    expect(parseSeconds("2m")).toBe(120_000);
    expect(parseSeconds("soon")).toBeUndefined();
  });

  test("config - of-watchdog mode names are aliases", () => {
    expect(loadConfig({ fprocess: "cat", mode: "streaming" }).mode).toBe("stream");
    expect(loadConfig({ fprocess: "cat", mode: "serializing" }).mode).toBe("fork");
  });

  test("config - metrics_port 0 picks a port, off disables", () => {
    expect(loadConfig({ fprocess: "cat", mode: "fork", metrics_port: "0" }).metrics_port).toBe(0);
    expect(
      loadConfig({ fprocess: "cat", mode: "fork", metrics_port: "off" }).metrics_port,
    ).toBeNull();
  });

  test("config - errors name the variable", () => {
    expect(() => loadConfig({ fprocess: "cat", mode: "fork", max_inflight: "-1" })).toThrow(
      /max_inflight: /,
    );
    expect(() => loadConfig({ mode: "static" })).toThrow(/static_path: required in static mode/);
    expect(() => loadConfig({ fprocess: "  ", mode: "fork" })).toThrow(/fprocess: empty command/);
  });

  test("config - fprocess is split with shell quoting", () => {
    expect(parseCommand(`node -e 'console.log("hi there")'`)).toEqual({
      file: "node",
      args: ["-e", 'console.log("hi there")'],
    });
    expect(parseCommand(`python3 "my handler.py"`)).toEqual({
      file: "python3",
      args: ["my handler.py"],
    });
  });

  test("config - pipes, redirections and variables run under sh -c", () => {
    for (const line of ["wc -c | tr -d ' '", "cat > /dev/null", "echo $HOME", "ls *.js"]) {
      expect(parseCommand(line)).toEqual({ file: "sh", args: ["-c", line] });
    }
  });
});
