import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The of-watchdog lock file: written once the function is ready, removed when shutdown starts, so
 * that an exec probe (`cat /tmp/.lock`) follows the watchdog's health.
 */
export interface LockFile {
  /** Path of the file, or undefined when suppressed. */
  readonly path: string | undefined;
  /** Whether the lock is held (written and not yet released). */
  held(): boolean;
  write(): void;
  release(): void;
}

/** The default lock path, `<tmpdir>/.lock`, as of-watchdog (one watchdog per container). */
export function defaultLockPath(): string {
  return join(tmpdir(), ".lock");
}

/** Creates the lock file handle; `path` undefined (suppress_lock) makes every call a no-op but `held`. */
export function createLockFile(path: string | undefined): LockFile {
  let held = false;
  return {
    path,
    // Health follows our own state, not the file's presence: watchdogs sharing a tmpdir (local
    // replicas) must not fail each other's health when one of them stops.
    held: () => held,
    write() {
      if (path !== undefined) writeFileSync(path, "");
      held = true;
    },
    release() {
      held = false;
      if (path !== undefined) rmSync(path, { force: true });
    },
  };
}
