import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The basic-auth user of a local stack; its password is the token. */
export const LOCAL_USER = "ferry";

/** The file under the data directory holding a local stack's token. */
export const TOKEN_FILE = "token";

/** A local stack's credential. */
export interface LocalCredential {
  user: string;
  token: string;
  /** Where the token is kept (mode 0600). */
  file: string;
  /** True when this call made it (first `ferry up` in this directory). */
  created: boolean;
}

/** The file under the data directory holding a local stack's callback signing secret. */
export const SIGNING_SECRET_FILE = "signing-secret";

/** A secret kept in a file of the data directory. */
export interface LocalSecret {
  value: string;
  /** Where it is kept (mode 0600). */
  file: string;
  /** True when this call made it (first `ferry up` in this directory). */
  created: boolean;
}

/**
 * The credential of `ferry up`: made once (32 random bytes, base64url) and kept in
 * `<dataDir>/token` readable by the owner only; later runs reuse it.
 */
export async function localCredential(dataDir: string): Promise<LocalCredential> {
  const kept = await keptSecret(dataDir, TOKEN_FILE, () => randomBytes(32).toString("base64url"));
  return { user: LOCAL_USER, token: kept.value, file: kept.file, created: kept.created };
}

/**
 * The callback signing secret of `ferry up` (Standard Webhooks `whsec_` + 32 random bytes in
 * base64), made once and kept in `<dataDir>/signing-secret`, so a receiver can verify callbacks
 * across restarts.
 */
export function localSigningSecret(dataDir: string): Promise<LocalSecret> {
  return keptSecret(
    dataDir,
    SIGNING_SECRET_FILE,
    () => `whsec_${randomBytes(32).toString("base64")}`,
  );
}

/** The secret in `<dataDir>/<name>`, made by `make` when the file is missing or empty. */
async function keptSecret(dataDir: string, name: string, make: () => string): Promise<LocalSecret> {
  const file = join(dataDir, name);
  await mkdir(dataDir, { recursive: true });
  const existing = await readFile(file, "utf8").catch(() => undefined);
  if (existing?.trim()) {
    await chmod(file, 0o600);
    return { value: existing.trim(), file, created: false };
  }
  const value = make();
  await writeFile(file, value + "\n", { mode: 0o600 });
  return { value, file, created: true };
}
