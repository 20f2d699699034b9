// Builds native/build/ferry-spawn from spawn.c with the C compiler in $CC (default `cc`). Run by
// `npm ci` (postinstall) and by the package's build. Without a compiler it says so and succeeds:
// the watchdog then starts function processes from Node, as it does with native_spawner=false.
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "build", "ferry-spawn");
const cc = process.env.CC || "cc";
try {
  mkdirSync(join(here, "build"), { recursive: true });
  execFileSync(cc, ["-O2", "-Wall", "-o", `${out}.tmp`, join(here, "spawn.c")], {
    stdio: ["ignore", "inherit", "pipe"],
  });
  renameSync(`${out}.tmp`, out);
} catch (err) {
  const reason =
    err.code === "ENOENT" ? `no C compiler (${cc})` : String(err.stderr || err.message);
  process.stderr.write(
    `@ferry/watchdog: native spawner not built: ${reason.trim()}\n` +
      "  fork and stream modes will start function processes from Node (slower, same behaviour)\n",
  );
}
