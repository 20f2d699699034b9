import type { EventDraft, Source, SourceContext } from "@ferry/connector-sdk";
import { sleep } from "@ferry/runtime";
import type { CronFile, Schedule } from "./config.js";
import { ticksBetween, ticksOf } from "./ticks.js";

/** CloudEvents `type` of a tick. */
export const TICK_TYPE = "dev.ferry.cron.tick";

/** The event id of a tick, the same on every replica: `cron:<name>:<tick time>`. */
export function tickId(name: string, tick: number): string {
  return `cron:${name}:${new Date(tick).toISOString()}`;
}

interface TickPosition {
  key: string;
  tick: number;
}

/** The cron source: a loop per schedule that publishes one event per tick. */
export function createCronSource(config: CronFile): Source {
  let ctx: SourceContext | undefined;
  let loops: Array<Promise<void>> = [];
  const abort = new AbortController();
  const source = config.source ?? "/ferry/cron";
  return {
    kind: "cron",
    async start(context) {
      ctx = context;
      loops = Object.entries(config.schedules).map(([name, schedule]) =>
        runSchedule(name, schedule, positionKey(source, name), context, abort.signal),
      );
    },
    async commit(position) {
      const { key, tick } = position as TickPosition;
      const stored = Number((await ctx?.positions.get(key)) ?? 0);
      if (tick > stored) await ctx?.positions.put(key, String(tick));
    },
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}

async function runSchedule(
  name: string,
  schedule: Schedule,
  key: string,
  ctx: SourceContext,
  signal: AbortSignal,
): Promise<void> {
  const log = ctx.logger.child({ schedule: name, topic: schedule.topic });
  const ticks = ticksOf(schedule);
  const fire = (tick: number): Promise<unknown> =>
    ctx
      .publish(tickEvent(name, schedule, tick), { position: { key, tick } })
      .catch((err: unknown) => {
        if (!signal.aborted)
          log.error({ err, tick: new Date(tick).toISOString() }, "tick not published");
      });
  let last = Date.now();
  for (const tick of await missedTicks(schedule, ticks, key, ctx, last)) await fire(tick);
  log.info({ next: new Date(ticks.next(last) ?? 0).toISOString() }, "schedule running");
  while (!signal.aborted) {
    const tick = ticks.next(last);
    if (tick === undefined) return log.info("schedule has no more ticks");
    // Timers may wake a little early; a tick is published only once its time has come.
    while (!signal.aborted && Date.now() < tick)
      await sleep(Math.min(tick - Date.now(), 60_000), signal);
    if (signal.aborted) return;
    void fire(tick);
    last = tick;
  }
}

async function missedTicks(
  schedule: Schedule,
  ticks: ReturnType<typeof ticksOf>,
  key: string,
  ctx: SourceContext,
  now: number,
): Promise<number[]> {
  if (schedule.missed === "skip") return [];
  const stored = Number((await ctx.positions.get(key)) ?? NaN);
  if (Number.isNaN(stored)) return [];
  const max = schedule.missed === "last" ? 1 : schedule.maxCatchUp;
  return ticksBetween(ticks, stored, now, max);
}

function tickEvent(name: string, schedule: Schedule, tick: number): EventDraft {
  const draft: EventDraft = {
    topic: schedule.topic,
    id: tickId(name, tick),
    type: TICK_TYPE,
    time: new Date(tick).toISOString(),
    subject: name,
  };
  if (typeof schedule.body === "string") {
    draft.data = schedule.body;
    draft.datacontenttype = schedule.contentType ?? "text/plain";
  } else if (schedule.body !== undefined) {
    draft.data = JSON.stringify(schedule.body);
    draft.datacontenttype = "application/json";
  }
  return draft;
}

/** Key of a schedule's last published tick in the positions bucket. */
export function positionKey(source: string, schedule: string): string {
  return `cron.${source.replace(/[^A-Za-z0-9_-]/g, "_")}.${schedule}`;
}
