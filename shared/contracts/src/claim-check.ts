/**
 * NATS Object Store bucket holding request bodies too large for a JetStream message; the
 * invocation then carries `Ferry-Body-Ref` (see InvocationHeaders) and an empty payload.
 */
export const BODIES_BUCKET = "ferry_bodies";
