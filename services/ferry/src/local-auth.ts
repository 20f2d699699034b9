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

/**
 * The credential of `ferry up`: made once (32 random bytes, base64url) and kept in
 * `<dataDir>/token` readable by the owner only; later runs reuse it.
 */
export async function localCredential(dataDir: string): Promise<LocalCredential> {
  const file = join(dataDir, TOKEN_FILE);
  await mkdir(dataDir, { recursive: true });
  const existing = await readFile(file, "utf8").catch(() => undefined);
  if (existing?.trim()) {
    await chmod(file, 0o600);
    return { user: LOCAL_USER, token: existing.trim(), file, created: false };
  }
  const token = randomBytes(32).toString("base64url");
  await writeFile(file, token + "\n", { mode: 0o600 });
  return { user: LOCAL_USER, token, file, created: true };
}
