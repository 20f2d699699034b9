/** NATS Object Store bucket holding request bodies too large for a JetStream message. */
export const BODIES_BUCKET = "ferry_bodies";

/**
 * Header of an invocation whose body is in {@link BODIES_BUCKET}: the object's name. The message
 * payload is then empty.
 */
export const BODY_REF_HEADER = "Ferry-Body-Ref";

/** Header with the size in bytes of a body held in the object store. */
export const BODY_SIZE_HEADER = "Ferry-Body-Size";
