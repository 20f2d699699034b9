// Settings shared by the scripts, from environment variables (k6 run -e NAME=value ...).

/** Base URL of the gateway. */
export const GATEWAY_URL = (__ENV.GATEWAY_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
/** Function to call. */
export const FUNCTION = __ENV.FUNCTION || "echo";
/** Target arrival rate, calls per second. */
export const RATE = Number(__ENV.RATE || 200);
/** Length of the constant-rate phase, e.g. 30s or 2m. */
export const DURATION = __ENV.DURATION || "30s";
/** Where callbacks go (for example the callback sink in loadtests/callback-sink). */
export const CALLBACK_URL = __ENV.CALLBACK_URL || "http://127.0.0.1:9999/cb";
/** Bearer token for protected routes, if any. */
export const TOKEN = __ENV.FERRY_TOKEN || "";
/** Request body size in bytes. */
export const BODY_BYTES = Number(__ENV.BODY_BYTES || 1024);

/** A body of BODY_BYTES ASCII characters. */
export const BODY = "x".repeat(BODY_BYTES);

/** Headers every request carries (credentials when configured). */
export function authHeaders() {
  /** @type {Record<string, string>} */
  const headers = {};
  if (TOKEN) headers.Authorization = `Bearer ${TOKEN}`;
  return headers;
}

/**
 * Scenarios used by every script: a constant arrival rate, then a ramp to twice that rate.
 * @param {string} exec name of the exported function to run
 */
export function scenarios(exec) {
  return {
    constant: {
      executor: "constant-arrival-rate",
      exec,
      rate: RATE,
      timeUnit: "1s",
      duration: DURATION,
      preAllocatedVUs: Math.max(10, Math.ceil(RATE / 10)),
      maxVUs: Math.max(50, RATE),
    },
    ramp: {
      executor: "ramping-arrival-rate",
      exec,
      startTime: DURATION,
      startRate: RATE,
      timeUnit: "1s",
      stages: [
        { target: RATE * 2, duration: "20s" },
        { target: RATE * 2, duration: "20s" },
        { target: 0, duration: "10s" },
      ],
      preAllocatedVUs: Math.max(10, Math.ceil(RATE / 5)),
      maxVUs: Math.max(100, RATE * 2),
    },
  };
}
