import { z } from "zod";
import { Topic } from "@ferry/contracts";
import { Duration, Port } from "@ferry/runtime";

const secret = {
  /** The secret itself (prefer `secretEnv`: files get committed). */
  secret: z.string().min(1).optional(),
  /** Environment variable holding the secret. */
  secretEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
};

/** How a hook's requests are verified; a failure is answered 401 and publishes nothing. */
export const Verify = z.discriminatedUnion("type", [
  /** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`. */
  z.strictObject({ type: z.literal("github"), ...secret }),
  /** Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,<base64>`). */
  z.strictObject({
    type: z.literal("standard-webhooks"),
    ...secret,
    /** Largest accepted clock difference of `webhook-timestamp`. */
    tolerance: Duration.default(300_000),
  }),
  /** A shared token in a header, e.g. `Authorization: Bearer <token>`. */
  z.strictObject({
    type: z.literal("token"),
    ...secret,
    /** Header carrying the token; `authorization` expects `Bearer <token>`. */
    header: z.string().toLowerCase().default("authorization"),
  }),
]);
export type Verify = z.infer<typeof Verify>;

/** One hook: `POST /hooks/<name>`. */
export const Hook = z.strictObject({
  /** Topic the requests are published on. */
  topic: Topic,
  /** Largest body accepted, bytes; larger gets 413. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .max(8 * 1024 * 1024)
    .default(512 * 1024),
  /** Verification of each request. */
  verify: Verify.refine((v) => (v.secret === undefined) !== (v.secretEnv === undefined), {
    message: "set exactly one of `secret` and `secretEnv`",
  }),
  /** Request headers carried as event extensions (name without `x-` and dashes). */
  headers: z.array(z.string().toLowerCase()).optional(),
});
export type Hook = z.infer<typeof Hook>;

/** A webhook connector config file. */
export const WebhookFile = z.strictObject({
  /** Always `webhook`. */
  connector: z.literal("webhook"),
  /** CloudEvents `source` of the events; default `/ferry/webhook`. */
  source: z.string().min(1).max(256).optional(),
  /** Port of the hooks server. */
  port: Port.default(8086),
  /** Interface to bind. */
  host: z.string().default("127.0.0.1"),
  /** Hooks by name. */
  hooks: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits, '-'"),
    Hook,
  ),
});
export type WebhookFile = z.infer<typeof WebhookFile>;
