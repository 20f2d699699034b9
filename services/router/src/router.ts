import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { Streams, decodeEvent, topicOf } from "@ferry/contracts";
import {
  Publisher,
  fromMsgHdrs,
  type FunctionRegistry,
  type NatsConnection,
} from "@ferry/jetstream";
import { createRegistry, sleep } from "@ferry/runtime";
import { provisionRouterConsumer, ROUTER_CONSUMER } from "./consumer.js";
import { publishInvocations, subscribers, type RoutedEvent } from "./fanout.js";
import { createRouterMetrics, type RouterMetrics } from "./metrics.js";

/** Options of {@link createRouter}. */
export interface RouterOptions {
  nc: NatsConnection;
  registry: FunctionRegistry;
  logger: Logger;
  /** Events fanned out at once. Default 64. */
  maxInflight?: number;
  /** Lease of a delivered event. Default 30 s. */
  ackWaitMs?: number;
  /** Longest wait for one publish ack. Default 5 s. */
  publishTimeoutMs?: number;
  /** Registry the router's metrics are added to; a new one when absent. */
  metricsRegistry?: Registry;
}

/** A running router. */
export interface Router {
  metricsRegistry: Registry;
  /** Stops taking events and waits for those being fanned out, up to `deadlineMs`. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Consumes FERRY_EVENTS and publishes one invocation per subscribed function for each event. */
export async function createRouter(opts: RouterOptions): Promise<Router> {
  const log = opts.logger.child({ component: "router" });
  const ackWaitMs = opts.ackWaitMs ?? 30_000;
  const maxInflight = opts.maxInflight ?? 64;
  const metricsRegistry = opts.metricsRegistry ?? createRegistry();
  const metrics = createRouterMetrics(metricsRegistry);
  const jsm = await jetstreamManager(opts.nc);
  await provisionRouterConsumer(jsm, { ackWaitMs, maxAckPending: maxInflight * 4 });
  const js = jetstream(opts.nc);
  const consumer = await js.consumers.get(Streams.Events, ROUTER_CONSUMER);
  const messages = await consumer.consume({ max_messages: maxInflight });
  const running = new Set<Promise<void>>();
  const publisher = new Publisher(opts.nc);
  const deps = { ...opts, publisher, metrics, log, ackWaitMs };

  const loop = (async () => {
    for await (const msg of messages) {
      while (running.size >= maxInflight) await Promise.race(running);
      const p = route(msg, deps).finally(() => running.delete(p));
      running.add(p);
    }
  })();
  log.info({ maxInflight }, "router started");

  return {
    metricsRegistry,
    async stop(deadlineMs = 10_000) {
      messages.stop();
      await loop.catch(() => {});
      await Promise.race([Promise.allSettled(running), sleep(deadlineMs)]);
      publisher.close();
    },
  };
}

interface RouteDeps extends RouterOptions {
  publisher: Publisher;
  metrics: RouterMetrics;
  log: Logger;
  ackWaitMs: number;
}

/** Fans one event out; acks it only once every invocation is stored, else hands it back. */
async function route(msg: JsMsg, deps: RouteDeps): Promise<void> {
  const ev = toRoutedEvent(msg, deps.log);
  if (!ev) {
    deps.metrics.events.inc({ outcome: "invalid" });
    return msg.term();
  }
  const log = deps.log.child({ eventId: ev.event.id, source: ev.event.source, topic: ev.topic });
  const specs = subscribers(deps.registry, ev.topic);
  if (specs.length === 0) {
    log.debug("no function subscribes to this topic");
    deps.metrics.events.inc({ outcome: "unmatched" });
    return msg.ack();
  }
  const timer = deps.metrics.fanoutSeconds.startTimer();
  const lease = setInterval(() => msg.working(), Math.max(deps.ackWaitMs / 2, 100));
  try {
    const published = await publishInvocations(deps.publisher, ev, specs, {
      timeoutMs: deps.publishTimeoutMs ?? 5_000,
    });
    msg.ack();
    for (const p of published) {
      deps.metrics.invocations.inc({ function_name: p.function, duplicate: String(p.duplicate) });
      log.info({ callId: p.callId, function: p.function, duplicate: p.duplicate }, "event routed");
    }
    deps.metrics.events.inc({ outcome: "routed" });
  } catch (err) {
    const delayMs = Math.min(500 * 2 ** (msg.info.deliveryCount - 1), 10_000);
    log.warn({ err, delayMs }, "fan-out failed, event handed back");
    deps.metrics.events.inc({ outcome: "failed" });
    msg.nak(delayMs);
  } finally {
    clearInterval(lease);
    timer();
  }
}

function toRoutedEvent(msg: JsMsg, log: Logger): RoutedEvent | undefined {
  const topic = topicOf(msg.subject);
  try {
    if (!topic) throw new Error(`subject ${msg.subject} is not an event subject`);
    const event = decodeEvent(fromMsgHdrs(msg.headers));
    return {
      event,
      topic,
      data: msg.data,
      traceparent: msg.headers?.get("traceparent") || undefined,
    };
  } catch (err) {
    log.error(
      { err, seq: msg.seq, subject: msg.subject },
      "dropping a message that is not an event",
    );
    return undefined;
  }
}
