// Async invocations with a callback URL: checks 202 and X-Call-Id.
//   k6 run -e GATEWAY_URL=http://127.0.0.1:8080 -e FUNCTION=echo -e RATE=500 \
//          -e CALLBACK_URL=http://127.0.0.1:9999/cb loadtests/k6/async-invoke.js
import http from "k6/http";
import { check } from "k6";
import { Counter, Trend } from "k6/metrics";
import { BODY, CALLBACK_URL, FUNCTION, GATEWAY_URL, authHeaders, scenarios } from "./lib/config.js";

const accepted = new Counter("ferry_accepted");
const acceptTime = new Trend("ferry_accept_ms", true);

export const options = {
  scenarios: scenarios("invoke"),
  thresholds: {
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
    ferry_accept_ms: ["p(95)<50", "p(99)<200"],
  },
};

export function invoke() {
  const res = http.post(`${GATEWAY_URL}/async-function/${FUNCTION}`, BODY, {
    headers: { ...authHeaders(), "Content-Type": "text/plain", "X-Callback-Url": CALLBACK_URL },
    tags: { name: "async-invoke" },
  });
  const ok = check(res, {
    "status is 202": (r) => r.status === 202,
    "has X-Call-Id": (r) =>
      typeof r.headers["X-Call-Id"] === "string" && r.headers["X-Call-Id"].length > 0,
  });
  if (ok) accepted.add(1);
  acceptTime.add(res.timings.duration);
}
