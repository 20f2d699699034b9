import { createHash } from "node:crypto";
import { readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** This package's directory. */
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

/** The dashboard's sources (Vite root). */
const WEB_DIR = join(PACKAGE_DIR, "web");

/** Where `npm run build` puts the dashboard; the gateway serves it at `/ui` (`UI_DIR`). */
export const DASHBOARD_DIST = join(PACKAGE_DIR, "dist", "ui");

/** File in the build recording which sources it was built from. */
const STAMP = ".sources-hash";

/** Hash of the dashboard's sources, its Vite config and its package.json. */
export async function sourcesHash(): Promise<string> {
  const hash = createHash("sha256");
  const files = [...(await listFiles(WEB_DIR)), join(PACKAGE_DIR, "package.json")].sort();
  for (const file of files) {
    hash.update(relative(PACKAGE_DIR, file));
    hash.update(await readFile(file));
  }
  return hash.digest("hex");
}

/** True when the build is there and was made from the current sources. */
export async function isBuilt(dist = DASHBOARD_DIST): Promise<boolean> {
  const stamp = await readFile(join(dist, STAMP), "utf8").catch(() => "");
  return stamp !== "" && stamp === (await sourcesHash());
}

/**
 * Builds the dashboard unless the build is current; resolves with its directory. Builds into a
 * temporary directory and renames it into place, so that a gateway serving the old build, or a
 * second process building at the same time, never sees half a build.
 */
export async function ensureDashboardBuilt(
  opts: { dist?: string; log?: (msg: string) => void; force?: boolean } = {},
): Promise<string> {
  const dist = opts.dist ?? DASHBOARD_DIST;
  if (!opts.force && (await isBuilt(dist))) return dist;
  const hash = await sourcesHash();
  const tmp = `${dist}.tmp-${process.pid}-${Date.now()}`;
  opts.log?.("building the dashboard");
  const { build } = await import("vite");
  await build({
    configFile: join(WEB_DIR, "vite.config.ts"),
    logLevel: "warn",
    build: { outDir: tmp, emptyOutDir: true },
  });
  await writeFile(join(tmp, STAMP), hash);
  if (!opts.force && (await isBuilt(dist))) {
    await rm(tmp, { recursive: true, force: true });
    return dist;
  }
  const old = `${dist}.old-${process.pid}-${Date.now()}`;
  await rename(dist, old).catch(() => {});
  try {
    await rename(tmp, dist);
  } catch (err) {
    // Another process put its build there first: use it if current.
    await rm(tmp, { recursive: true, force: true });
    if (!(await isBuilt(dist))) throw err;
  }
  await rm(old, { recursive: true, force: true });
  return dist;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if ((await stat(path)).isFile()) out.push(path);
  }
  return out;
}
