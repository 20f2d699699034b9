// End to end without a receiver: an async call, then the status API polled until it is final.
//   k6 run -e GATEWAY_URL=http://127.0.0.1:8080 -e FUNCTION=echo -e RATE=100 loadtests/k6/status-poll.js
import http from "k6/http";
import { check, sleep } from "k6";
import { Counter, Trend } from "k6/metrics";
import { BODY, FUNCTION, GATEWAY_URL, authHeaders, scenarios } from "./lib/config.js";

/** How often the status is polled, seconds. */
const POLL_INTERVAL = Number(__ENV.POLL_INTERVAL || 0.05);
/** Give up on a call after this many seconds. */
const POLL_TIMEOUT = Number(__ENV.POLL_TIMEOUT || 30);
const FINAL = ["succeeded", "failed", "dead-lettered", "cancelled"];

const endToEnd = new Trend("ferry_end_to_end_ms", true);
const finished = new Counter("ferry_finished");
const timedOut = new Counter("ferry_poll_timeouts");

export const options = {
  scenarios: scenarios("roundTrip"),
  thresholds: {
    checks: ["rate>0.99"],
    ferry_poll_timeouts: ["count<1"],
    ferry_end_to_end_ms: ["p(50)<100", "p(99)<2000"],
  },
};

export function roundTrip() {
  const started = Date.now();
  const res = http.post(`${GATEWAY_URL}/async-function/${FUNCTION}`, BODY, {
    headers: { ...authHeaders(), "Content-Type": "text/plain" },
    tags: { name: "async-invoke" },
  });
  if (!check(res, { "status is 202": (r) => r.status === 202 })) return;
  const callId = res.headers["X-Call-Id"];
  while (Date.now() - started < POLL_TIMEOUT * 1000) {
    const st = http.get(`${GATEWAY_URL}/async-function/status/${callId}`, {
      headers: authHeaders(),
      tags: { name: "status" },
    });
    const status = st.status === 200 ? st.json("status") : undefined;
    if (typeof status === "string" && FINAL.includes(status)) {
      check(status, { "call succeeded": (s) => s === "succeeded" });
      endToEnd.add(Date.now() - started);
      finished.add(1);
      return;
    }
    sleep(POLL_INTERVAL);
  }
  timedOut.add(1);
}
