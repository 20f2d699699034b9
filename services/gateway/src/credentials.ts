import { readFileSync } from "node:fs";
import { NAME_PATTERN } from "@ferry/contracts";
import { ConfigError } from "@ferry/runtime";
import type { AuthOptions } from "./auth.js";
import type { GatewayConfig } from "./config.js";

/** Reads a file's entries: one per line, blank lines and `#` comments skipped. */
function fileEntries(variable: string, path: string | undefined): string[] {
  if (path === undefined) return [];
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(`invalid configuration: ${variable}: cannot read the file (${code})`);
  }
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

function user(variable: string, entry: string): { user: string; password: string } {
  const i = entry.indexOf(":");
  if (i < 1 || i === entry.length - 1) {
    // The entry itself is a secret: never in the message.
    throw new ConfigError(`invalid configuration: ${variable}: entries must be user:password`);
  }
  return { user: entry.slice(0, i), password: entry.slice(i + 1) };
}

function invokeToken(entry: string): { token: string; function?: string } {
  const i = entry.indexOf(":");
  const fn = entry.slice(0, i);
  return i > 0 && NAME_PATTERN.test(fn)
    ? { token: entry.slice(i + 1), function: fn }
    : { token: entry };
}

/**
 * The gateway's credentials from its configuration (values and files). With AUTH_DISABLED the
 * operator paths stay open; invoke tokens still guard `auth: token` functions.
 */
export function authFromConfig(cfg: GatewayConfig): AuthOptions {
  const tokens = [...cfg.AUTH_TOKENS, ...fileEntries("AUTH_TOKENS_FILE", cfg.AUTH_TOKENS_FILE)];
  const users = [
    ...cfg.AUTH_USERS.map((e) => user("AUTH_USERS", e)),
    ...fileEntries("AUTH_USERS_FILE", cfg.AUTH_USERS_FILE).map((e) => user("AUTH_USERS_FILE", e)),
  ];
  const invokeTokens = [
    ...cfg.INVOKE_TOKENS,
    ...fileEntries("INVOKE_TOKENS_FILE", cfg.INVOKE_TOKENS_FILE),
  ].map(invokeToken);
  if (!cfg.AUTH_DISABLED && tokens.length === 0 && users.length === 0) {
    throw new ConfigError(
      "invalid configuration: AUTH_TOKENS_FILE, AUTH_USERS_FILE: the files hold no credentials",
    );
  }
  return { tokens, users, invokeTokens, ...(cfg.AUTH_DISABLED ? { open: true } : {}) };
}
