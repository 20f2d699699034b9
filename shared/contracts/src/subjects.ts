/** JetStream stream names. */
export const Streams = {
  /** Pending invocations, a work queue. */
  Invoke: "FERRY_INVOKE",
  /** Trigger events from connectors, limits retention. */
  Events: "FERRY_EVENTS",
  /** Failed invocations, redrivable. */
  Dlq: "FERRY_DLQ",
} as const;
export type Streams = (typeof Streams)[keyof typeof Streams];

/** NATS KV bucket that holds the function registry. */
export const FUNCTIONS_BUCKET = "ferry_functions";

/** NATS KV bucket where the provider publishes ready replicas (`r.<fn>.<id>`) and scale state (`s.<fn>`). */
export const ENDPOINTS_BUCKET = "ferry_endpoints";

/** Core NATS subjects between workers, the gateway and the provider (not stored). */
export const ProviderSubjects = {
  /** `ferry.provider.wake.<fn>`: a call is waiting for a function with no ready replica. */
  Wake: "ferry.provider.wake",
  /** `ferry.provider.load.<fn>`: a worker's or gateway's calls running now, sent every second. */
  Load: "ferry.provider.load",
} as const;

/** BullMQ queue of callback deliveries. */
export const CALLBACK_QUEUE = "ferry-callbacks";

/** The queue a function uses when its spec names none. */
export const DEFAULT_QUEUE = "default";

/** Subject roots, one per stream. */
export const Subjects = {
  Invoke: "ferry.invoke",
  Events: "ferry.events",
  Dlq: "ferry.dlq",
} as const;

/** `ferry.invoke.<queue>.<function>` */
export function invokeSubject(queue: string, fn: string): string {
  return `${Subjects.Invoke}.${queue}.${fn}`;
}

/** `ferry.dlq.<queue>.<function>` */
export function dlqSubject(queue: string, fn: string): string {
  return `${Subjects.Dlq}.${queue}.${fn}`;
}

/** `ferry.events.<topic>` */
export function eventSubject(topic: string): string {
  return `${Subjects.Events}.${topic}`;
}

/** Durable pull consumer shared by every worker of one queue: `ferry-queue-<queue>`. */
export function queueConsumerName(queue: string): string {
  return `ferry-queue-${queue}`;
}

/** Filter subject of one queue's consumer. */
export function queueFilterSubject(queue: string): string {
  return `${Subjects.Invoke}.${queue}.>`;
}

/** BullMQ queue of calls parked outside JetStream until they are due (long delays and retries). */
export const PARKED_QUEUE = "ferry-parked";

/** Core NATS subject on which a cancel is announced to the workers: `ferry.cancel.<callId>`. */
export function cancelSubject(callId: string): string {
  return `ferry.cancel.${callId}`;
}
