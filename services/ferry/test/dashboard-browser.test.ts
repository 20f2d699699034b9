import { accessSync, constants } from "node:fs";
import { mkdir } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FunctionSpec } from "@ferry/contracts";
import { createLogger } from "@ferry/runtime";
import { ensureDashboardBuilt } from "@ferry/dashboard";
import {
  REPO_ROOT,
  startHttpSink,
  startNats,
  startRedis,
  type HttpSink,
  type ServerHandle,
} from "@ferry/testkit";
import { startStack, type Stack } from "../src/index.js";

// Browser tests of the dashboard: Debian's chromium (headless) through playwright-core, against
// a real stack. Each test leaves a screenshot of its page in docs/dashboard/.

const SHOTS = join(REPO_ROOT, "docs", "dashboard");
const logger = createLogger({ name: "test", level: "silent" });

let nats: ServerHandle;
let redis: ServerHandle;
/** Serves the functions: `/ok` answers 200, `/picky` 400 until `pickyOk`. */
let fnSink: HttpSink;
/** Receives callbacks: `/gone` answers 410 while `gone`. */
let cbSink: HttpSink;
let pickyOk = false;
let gone = true;
/** The gateway the browser talks to; no worker at first (the queue's consumer is stopped). */
let ui: Stack;
/** Worker and callbacks, started by the first test. */
let workers: Stack | undefined;
let browser: Browser;
let page: Page;

function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of ["chromium", "chromium-browser"]) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // Not here.
      }
    }
  }
  throw new Error("chromium not found on PATH (apt-get install chromium, or set CHROMIUM_PATH)");
}

beforeAll(async () => {
  const [uiDir] = await Promise.all([
    ensureDashboardBuilt(),
    mkdir(SHOTS, { recursive: true }),
    (async () => {
      [nats, redis, fnSink, cbSink] = await Promise.all([
        startNats(),
        startRedis(),
        startHttpSink(),
        startHttpSink(),
      ]);
    })(),
  ]);
  fnSink.respondWith((r) =>
    r.url.startsWith("/picky") && !pickyOk
      ? { status: 400, body: "bad input" }
      : { status: 200, body: `done: ${r.body.toString()}` },
  );
  cbSink.respondWith((r) => ({ status: r.url.startsWith("/gone") && gone ? 410 : 200 }));
  ui = await startStack({
    natsUrl: nats.url,
    redisUrl: redis.url,
    logger,
    port: 0,
    worker: false,
    callbacks: false,
    callbackAllowlist: ["127.0.0.1"],
    uiDir,
  });
  const spec = (name: string, path: string, queue: string): FunctionSpec =>
    FunctionSpec.parse({ name, queue, url: `${fnSink.url}${path}`, timeout: 10_000 });
  await ui.registry.put(spec("batch", "/ok", "bulk"));
  await ui.registry.put(spec("echo", "/ok", "default"));
  await ui.registry.put(spec("picky", "/picky", "default"));
  browser = await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: ["--no-sandbox"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  await workers?.stop();
  await ui?.stop();
  await Promise.all([nats?.stop(), redis?.stop(), fnSink?.close(), cbSink?.close()]);
});

const open = (path: string): Promise<unknown> => page.goto(`${ui.gatewayUrl}/ui${path}`);

async function post(path: string, body: string, callback?: string): Promise<string> {
  const res = await fetch(`${ui.gatewayUrl}${path}`, {
    method: "POST",
    body,
    headers: callback ? { "x-callback-url": callback } : {},
  });
  expect(res.status).toBe(202);
  return res.headers.get("x-call-id") ?? "";
}

async function statusOf(callId: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${ui.gatewayUrl}/async-function/status/${callId}`);
  return (await res.json()) as Record<string, unknown>;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const shot = (name: string): Promise<Buffer> =>
  page.screenshot({ path: join(SHOTS, `${name}.png`) });

describe("dashboard in a browser", () => {
  test("overview - a queue's pending count rises with 100 calls to a stopped consumer and falls once it starts", async () => {
    await open("/");
    const pending = page.locator('[data-queue="bulk"] [data-testid="pending"]');
    await pending.waitFor();
    expect(await pending.textContent()).toBe("0");
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => post("/async-function/batch", `n${i}`)),
    );
    await expect.poll(() => pending.textContent(), { timeout: 30_000, interval: 200 }).toBe("100");
    expect(await page.getByTestId("live").textContent()).toContain("live");
    // The worker starts: the queue drains and the charts fill.
    workers = await startStack({
      natsUrl: nats.url,
      redisUrl: redis.url,
      logger,
      port: 0,
      callbackAllowlist: ["127.0.0.1"],
      callbackRetry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 500 },
      // The screenshots show this name, not the test machine's.
      workerId: "worker-1",
    });
    await expect.poll(() => pending.textContent(), { timeout: 60_000, interval: 200 }).toBe("0");
    await shot("overview");
  });

  test("calls - searching a call id opens its timeline", async () => {
    const callId = await post("/async-function/echo", "find me", `${cbSink.url}/found`);
    await until(async () => (await statusOf(callId)).status === "succeeded");
    await until(() => cbSink.requests.some((r) => r.url === "/found"));
    await open("/calls");
    await page.getByTestId("calls").waitFor();
    await shot("calls");
    await page.getByLabel("Search by call id").fill(callId);
    await page.getByLabel("Search by call id").press("Enter");
    await page.waitForURL(`**/ui/calls/${callId}`);
    const timeline = page.getByTestId("timeline");
    await timeline.waitFor();
    await expect
      .poll(() => timeline.textContent(), { timeout: 15_000, interval: 200 })
      .toContain("Callback attempt 1: delivered");
    const text = (await timeline.textContent()) ?? "";
    expect(text).toContain("Accepted and queued");
    expect(text).toContain("Attempt 1 started");
    expect(text).toMatch(/Attempt 1 → succeeded \(200\)/);
    expect(await page.getByTestId("call-status").textContent()).toBe("succeeded");
    expect(await page.getByTestId("request").textContent()).toBe("find me");
    expect(await page.getByTestId("result").textContent()).toBe("done: find me");
    await shot("call");
  });

  test("dead letters - redriving a dead letter from the page makes its callback arrive", async () => {
    const callId = await post("/async-function/picky", "fix me", `${cbSink.url}/redriven`);
    await until(async () => (await statusOf(callId)).status === "dead-lettered");
    await open("/dlq");
    const row = page.locator(`[data-call="${callId}"]`);
    await row.waitFor();
    await row.getByRole("button", { name: "Inspect" }).click();
    expect(await page.getByTestId("dlq-body").textContent()).toBe("fix me");
    await shot("dead-letters");
    // Only the first attempt's callback (the dead letter's) has arrived so far.
    const before = cbSink.requests.filter((r) => r.url === "/redriven").length;
    pickyOk = true;
    await row.getByRole("button", { name: "Redrive" }).click();
    await page.getByTestId("message").filter({ hasText: "Redriven 1" }).waitFor();
    await until(() => cbSink.requests.filter((r) => r.url === "/redriven").length > before);
    const delivered = cbSink.requests.filter((r) => r.url === "/redriven").at(-1);
    expect(delivered?.headers["x-call-id"]).toBe(callId);
    expect(delivered?.headers["x-function-status"]).toBe("200");
    expect(delivered?.body.toString()).toBe("done: fix me");
  });

  test("callbacks - a failed delivery is listed and retrying it from the page delivers it", async () => {
    const callId = await post("/async-function/echo", "call me back", `${cbSink.url}/gone`);
    await until(async () => {
      const cb = (await statusOf(callId)).callback as { state?: string } | undefined;
      return cb?.state === "failed";
    });
    await open("/callbacks");
    const row = page.locator(`[data-call="${callId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain("410");
    await shot("callbacks");
    gone = false;
    await row.getByRole("button", { name: "Retry" }).click();
    await page.getByTestId("message").filter({ hasText: "Retrying" }).waitFor();
    await until(async () => {
      const cb = (await statusOf(callId)).callback as { state?: string } | undefined;
      return cb?.state === "delivered";
    });
    const last = cbSink.requests.filter((r) => r.url === "/gone").at(-1);
    expect(last?.headers["x-call-id"]).toBe(callId);
    expect(last?.body.toString()).toBe("done: call me back");
  });

  test("pages - functions and connectors render, API errors are shown, and a phone-width screen works", async () => {
    await open("/functions");
    const echo = page.locator('[data-function="echo"]');
    await echo.waitFor();
    await shot("functions");
    await echo.getByLabel("request body").fill("from the page");
    await echo.getByRole("button", { name: "Invoke" }).click();
    await echo.getByTestId("message").filter({ hasText: "queued call" }).waitFor();
    // Deep links get index.html; a missing asset gets a JSON 404.
    const deep = await fetch(`${ui.gatewayUrl}/ui/calls/some-id`);
    expect(deep.headers.get("content-type")).toContain("text/html");
    const missing = await fetch(`${ui.gatewayUrl}/ui/assets/missing.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBeDefined();
    await open("/connectors");
    expect(await page.getByTestId("empty").textContent()).toContain("No connector");
    await shot("connectors");
    await open("/calls/no-such-call");
    expect(await page.getByTestId("error").textContent()).toContain("not found");
    // A gateway guarding /system answers 401: the page says so instead of showing nothing.
    await page.route("**/system/functions", (route) =>
      route.fulfill({
        status: 401,
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "FERRY_ERR_UNAUTHORIZED", message: "sign in" } }),
      }),
    );
    await open("/functions");
    expect(await page.getByTestId("error").first().textContent()).toContain("Not authorized (401)");
    await page.unroute("**/system/functions");
    await page.setViewportSize({ width: 390, height: 844 });
    await open("/");
    await page.locator('[data-queue="bulk"]').waitFor();
    // Nothing wider than the screen but the tables' own scrolling boxes.
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth");
    expect(overflow).toBeLessThanOrEqual(390);
    await shot("overview-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
