import { Cron } from "croner";
import { z } from "zod";
import { Topic } from "@ferry/contracts";
import { Duration } from "@ferry/runtime";

/** What to do at start about ticks that passed while no replica ran. */
export const MissedPolicy = { Skip: "skip", Last: "last", All: "all" } as const;
export type MissedPolicy = (typeof MissedPolicy)[keyof typeof MissedPolicy];

/** One schedule: when to fire, and what event to publish. */
export const Schedule = z
  .strictObject({
    /** Cron expression: 5 fields, or 6 with seconds first; or a name such as `@hourly`. */
    cron: z.string().optional(),
    /** Fixed interval instead of `cron`, e.g. `30s`, `5m`; ticks are aligned to the epoch. */
    every: Duration.pipe(z.number().min(1000, "must be at least 1s")).optional(),
    /** IANA time zone the cron expression is read in. */
    timezone: z
      .string()
      .default("UTC")
      .superRefine((tz, ctx) => {
        if (!isTimeZone(tz)) {
          ctx.addIssue({
            code: "custom",
            message: `"${tz}" is not an IANA time zone (e.g. Europe/Berlin)`,
          });
        }
      }),
    /** Topic the tick events are published on. */
    topic: Topic,
    /** Payload of each event: a string, or an object sent as JSON. */
    body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    /** Content type of a string body. Default `text/plain`. */
    contentType: z.string().optional(),
    /** Ticks missed while no replica ran: `skip` them, fire the `last`, or `all` of them. */
    missed: z.enum(["skip", "last", "all"]).default("skip"),
    /** Most missed ticks fired with `missed: all`. */
    maxCatchUp: z.number().int().positive().max(10_000).default(100),
  })
  .superRefine((s, ctx) => {
    if ((s.cron === undefined) === (s.every === undefined)) {
      ctx.addIssue({ code: "custom", message: "set exactly one of `cron` and `every`" });
    } else if (s.cron !== undefined) {
      const problem = cronProblem(s.cron, s.timezone);
      if (problem) ctx.addIssue({ code: "custom", path: ["cron"], message: problem });
    }
  });
export type Schedule = z.infer<typeof Schedule>;

/** A cron connector config file. */
export const CronFile = z.strictObject({
  /** Always `cron`. */
  connector: z.literal("cron"),
  /** CloudEvents `source` of the ticks; default `/ferry/cron`. */
  source: z.string().min(1).max(256).optional(),
  /** Schedules by name; the name is part of each tick's event id. */
  schedules: z
    .record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, '_', '-'"), Schedule)
    .refine((s) => Object.keys(s).length > 0, "needs at least one schedule"),
});
export type CronFile = z.infer<typeof CronFile>;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function cronProblem(expr: string, timezone: string): string | undefined {
  try {
    new Cron(expr, { timezone, paused: true, mode: "5-or-6-parts" });
    return undefined;
  } catch (err) {
    return `invalid cron expression "${expr}": ${(err as Error).message}`;
  }
}
