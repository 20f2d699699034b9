import { createHmac, randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Streams, decodeEvent, eventSubject } from "@ferry/contracts";
import { startConnector, type Connector } from "@ferry/connector-sdk";
import { connectNats, fromMsgHdrs, provisionStreams, type NatsConnection } from "@ferry/jetstream";
import { createLogger } from "@ferry/runtime";
import { startNats, type ServerHandle } from "@ferry/testkit";
import { WebhookFile, createWebhookSource, type WebhookSource } from "../src/index.js";

const logger = createLogger({ name: "test", level: "silent" });
const GITHUB_SECRET = "It's a Secret to Everybody";
const STANDARD_SECRET = "whsec_" + Buffer.from("standard secret key").toString("base64");
let nats: ServerHandle;
let nc: NatsConnection;
let source: WebhookSource;
let connector: Connector;
let base: string;

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ servers: nats.url, name: "test", logger });
  await provisionStreams(await jetstreamManager(nc));
  const config = WebhookFile.parse({
    connector: "webhook",
    port: 0,
    hooks: {
      github: {
        topic: "github.events",
        maxBodyBytes: 1024,
        verify: { type: "github", secretEnv: "GH_SECRET" },
      },
      billing: {
        topic: "billing.events",
        verify: { type: "standard-webhooks", secret: STANDARD_SECRET },
      },
      deploy: { topic: "ci.deploy", verify: { type: "token", secret: "tok-123" } },
    },
  });
  source = createWebhookSource(config, { GH_SECRET: GITHUB_SECRET });
  connector = await startConnector({ source, eventSource: "/test/webhook", nc, logger });
  base = source.url() ?? "";
});

afterAll(async () => {
  await connector?.stop();
  await nc?.drain();
  await nats?.stop();
});

/** Events stored on a topic so far. */
async function stored(topic: string): Promise<number> {
  const info = await (
    await jetstreamManager(nc)
  ).streams.info(Streams.Events, {
    subjects_filter: eventSubject(topic),
  });
  return info.state.subjects?.[eventSubject(topic)] ?? 0;
}

function post(hook: string, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${base}/hooks/${hook}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

describe("webhook connector", () => {
  test("github - a valid signature gets 202 with the event id and publishes the body once", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main", commits: [] });
    const signature = "sha256=" + createHmac("sha256", GITHUB_SECRET).update(body).digest("hex");
    const delivery = randomUUID();
    const res = await post("github", body, {
      "x-hub-signature-256": signature,
      "x-github-event": "push",
      "x-github-delivery": delivery,
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ id: delivery });
    const msg = await (
      await jetstreamManager(nc)
    ).streams.getMessage(Streams.Events, {
      last_by_subj: eventSubject("github.events"),
    });
    expect(msg?.string()).toBe(body);
    const event = decodeEvent(fromMsgHdrs(msg?.header));
    expect(event).toMatchObject({
      id: delivery,
      source: "/test/webhook",
      type: "com.github.push",
      datacontenttype: "application/json",
      extensions: { githubevent: "push", githubdelivery: delivery },
    });
  });

  test("github - a wrong signature gets 401 and publishes nothing", async () => {
    const before = await stored("github.events");
    const body = JSON.stringify({ ref: "refs/heads/evil" });
    const wrong = "sha256=" + createHmac("sha256", "not the secret").update(body).digest("hex");
    for (const headers of [{ "x-hub-signature-256": wrong }, {}] as Array<Record<string, string>>) {
      const res = await post("github", body, headers);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        "FERRY_ERR_UNAUTHORIZED",
      );
    }
    expect(await stored("github.events")).toBe(before);
  });

  test("github - a body over the hook's limit gets 413 and publishes nothing", async () => {
    const before = await stored("github.events");
    const body = "x".repeat(2048);
    const signature = "sha256=" + createHmac("sha256", GITHUB_SECRET).update(body).digest("hex");
    const res = await post("github", body, { "x-hub-signature-256": signature });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "FERRY_ERR_PAYLOAD_TOO_LARGE",
    );
    expect(await stored("github.events")).toBe(before);
  });

  test("standard webhooks - a valid signature passes, a stale timestamp or a tampered body fails", async () => {
    const body = '{"amount":42}';
    const id = `msg_${randomUUID()}`;
    const sign = (ts: number, payload: string): Record<string, string> => {
      const key = Buffer.from(STANDARD_SECRET.slice(6), "base64");
      const sig = createHmac("sha256", key).update(`${id}.${ts}.${payload}`).digest("base64");
      return {
        "webhook-id": id,
        "webhook-timestamp": String(ts),
        "webhook-signature": `v1,${sig}`,
      };
    };
    const now = Math.floor(Date.now() / 1000);
    expect((await post("billing", body, sign(now - 3600, body))).status).toBe(401);
    expect((await post("billing", '{"amount":4200}', sign(now, body))).status).toBe(401);
    expect(await stored("billing.events")).toBe(0);
    const ok = await post("billing", body, sign(now, body));
    expect(ok.status).toBe(202);
    expect(await ok.json()).toMatchObject({ id });
    expect(await stored("billing.events")).toBe(1);
  });

  test("token - the shared token is required; unknown hooks get 404", async () => {
    expect((await post("deploy", "{}", { authorization: "Bearer wrong" })).status).toBe(401);
    expect(await stored("ci.deploy")).toBe(0);
    expect((await post("deploy", "{}", { authorization: "Bearer tok-123" })).status).toBe(202);
    expect(await stored("ci.deploy")).toBe(1);
    expect((await post("nope", "{}", {})).status).toBe(404);
  });
});
