import type { Logger } from "pino";

/** An event as a source produces it; the SDK adds `specversion` and the connector's `source`. */
export interface EventDraft {
  /** Topic published on: `ferry.events.<topic>`. */
  topic: string;
  /** Unique per source; with the source, the dedupe id. */
  id: string;
  /** CloudEvents `type`, e.g. `dev.ferry.cron.tick`. */
  type: string;
  /** The payload, stored raw. */
  data?: Uint8Array | string;
  datacontenttype?: string;
  subject?: string;
  /** RFC 3339 time of the occurrence; also used for the lag metric. */
  time?: string;
  /** CloudEvents extension attributes (lower-case alphanumeric names). */
  extensions?: Record<string, string>;
  /** W3C trace context to carry. */
  traceparent?: string;
}

/** What the SDK answers to a publish. */
export interface PublishOutcome {
  /** The event's `Nats-Msg-Id`. */
  msgId: string;
  /** Stream sequence of the stored event. */
  seq: number;
  /** True when JetStream had the event already (another replica or a retry published it). */
  duplicate: boolean;
}

/** Small durable key-value store for source positions, shared by a connector's replicas. */
export interface PositionStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
}

/** What a source is given when it starts. */
export interface SourceContext {
  logger: Logger;
  /** Aborted when the connector stops. */
  signal: AbortSignal;
  positions: PositionStore;
  /**
   * Publishes an event and resolves once JetStream acked it; then, when `position` is given, calls
   * the source's `commit`. With `retry` (default true) failures are retried until the connector
   * stops; without, the first failure rejects.
   */
  publish(
    event: EventDraft,
    opts?: { position?: unknown; retry?: boolean },
  ): Promise<PublishOutcome>;
}

/** A source of events: the part of a connector that knows the outside system. */
export interface Source {
  /** Connector kind, e.g. `cron`. */
  readonly kind: string;
  /** Starts producing events through `ctx.publish`; resolves once it runs. */
  start(ctx: SourceContext): Promise<void>;
  /** Persists a source position; called only after the event at that position is in JetStream. */
  commit?(position: unknown): Promise<void>;
  /** Stops producing; resolves when nothing more will be published. */
  stop(): Promise<void>;
}
