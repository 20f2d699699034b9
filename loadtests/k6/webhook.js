// Signed posts to the webhook connector (GitHub-style X-Hub-Signature-256).
//   k6 run -e WEBHOOK_URL=http://127.0.0.1:8090/hooks/github -e WEBHOOK_SECRET=... loadtests/k6/webhook.js
import http from "k6/http";
import crypto from "k6/crypto";
import { check } from "k6";
import { Counter } from "k6/metrics";
import { RATE, scenarios } from "./lib/config.js";

/** The hook's URL. */
const WEBHOOK_URL = __ENV.WEBHOOK_URL || "http://127.0.0.1:8090/hooks/github";
/** The hook's shared secret. */
const WEBHOOK_SECRET = __ENV.WEBHOOK_SECRET || "change-me";

const published = new Counter("ferry_webhook_published");

export const options = {
  scenarios: scenarios("deliver"),
  thresholds: { http_req_failed: ["rate<0.01"], checks: ["rate>0.99"] },
};

export function deliver() {
  const body = JSON.stringify({ action: "opened", number: __ITER, rate: RATE, sentAt: Date.now() });
  const signature = `sha256=${crypto.hmac("sha256", WEBHOOK_SECRET, body, "hex")}`;
  const res = http.post(WEBHOOK_URL, body, {
    headers: {
      "Content-Type": "application/json",
      "X-GitHub-Event": "pull_request",
      "X-GitHub-Delivery": `${__VU}-${__ITER}-${Date.now()}`,
      "X-Hub-Signature-256": signature,
    },
    tags: { name: "webhook" },
  });
  if (check(res, { "status is 202": (r) => r.status === 202 })) published.add(1);
}
