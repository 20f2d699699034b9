// Synchronous round trips through /function/<name>.
//   k6 run -e GATEWAY_URL=http://127.0.0.1:8080 -e FUNCTION=echo -e RATE=200 loadtests/k6/sync-invoke.js
import http from "k6/http";
import { check } from "k6";
import { Trend } from "k6/metrics";
import { BODY, FUNCTION, GATEWAY_URL, authHeaders, scenarios } from "./lib/config.js";

const roundTrip = new Trend("ferry_sync_ms", true);

export const options = {
  scenarios: scenarios("call"),
  thresholds: {
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
    ferry_sync_ms: ["p(95)<100"],
  },
};

export function call() {
  const res = http.post(`${GATEWAY_URL}/function/${FUNCTION}`, BODY, {
    headers: { ...authHeaders(), "Content-Type": "text/plain" },
    tags: { name: "sync-invoke" },
  });
  check(res, {
    "status is 200": (r) => r.status === 200,
    "echoes the body": (r) => r.body === BODY,
  });
  roundTrip.add(res.timings.duration);
}
