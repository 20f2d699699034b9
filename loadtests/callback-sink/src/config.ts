import { z } from "zod";
import { Port, parseEnv } from "@ferry/runtime";

/** Callback sink configuration, from environment variables. */
export const SinkConfig = z.object({
  /** Port to listen on. */
  PORT: Port.default(9999),
  /** Interface to bind. */
  HOST: z.string().default("127.0.0.1"),
  /** `whsec_` secrets, comma-separated; when set, signatures are verified. */
  CALLBACK_SECRETS: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .optional(),
});
export type SinkConfig = z.infer<typeof SinkConfig>;

/** Reads the sink's configuration. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SinkConfig {
  return parseEnv(SinkConfig, env);
}
