import type { Logger } from "@ferry/runtime";
import type { Command, WatchdogConfig } from "../config.js";
import type { WatchdogMetrics } from "../metrics.js";
import type { FunctionOutput } from "../internal/output.js";
import type { FunctionProcess } from "../internal/process.js";
import { createFreshSource, createWarmPool, type ProcessSource } from "../internal/pool.js";
import { createNativeStarter, nativeSpawnerBuilt } from "../internal/native-spawner.js";
import {
  createLocalStarter,
  createSpawnerStarter,
  type ProcessStarter,
  type StarterOptions,
} from "../internal/spawner.js";
import { createForkRunner } from "./fork.js";
import { createHttpRunner } from "./http.js";
import type { ModeRunner } from "./runner.js";
import { createStaticRunner } from "./static.js";
import { createStreamRunner } from "./stream.js";

/** What every runner may need from the watchdog. */
export interface RunnerDeps {
  env: NodeJS.ProcessEnv;
  output: FunctionOutput;
  live: Set<FunctionProcess>;
  logger: Logger;
  metrics: WatchdogMetrics;
}

/** Picks the runner for `config.mode`. */
export function createRunner(config: WatchdogConfig, deps: RunnerDeps): ModeRunner {
  const { metrics } = deps;
  switch (config.mode) {
    case "http":
      return createHttpRunner({
        starter: httpStarter(config, deps),
        output: deps.output,
        logger: deps.logger,
        upstreamUrl: config.upstream_url as string,
        readyPath: config.ready_path,
        onProcessStart: () => metrics.processStarts.inc({ reason: "upstream" }),
      });
    case "fork":
    case "stream": {
      const create = config.mode === "fork" ? createForkRunner : createStreamRunner;
      return create({
        source: processSource(config, deps),
        contentType: config.content_type,
        logger: deps.logger,
      });
    }
    case "static":
      return createStaticRunner({ root: config.static_path as string });
  }
}

/**
 * http mode: the native spawner when it is built, because it kills the function's process group
 * when the watchdog goes, however it goes; else a spawn from the watchdog itself, which does not.
 */
function httpStarter(config: WatchdogConfig, deps: RunnerDeps): ProcessStarter {
  const opts = starterOptions(config, deps);
  const local = createLocalStarter(opts);
  if (useNative(config, deps)) return createNativeStarter({ ...opts, fallback: local });
  deps.logger.warn(
    "the function process starts from the watchdog itself: it is not tied to the watchdog's life and outlives a watchdog killed outright (SIGKILL, OOM)",
  );
  return local;
}

function processSource(config: WatchdogConfig, deps: RunnerDeps): ProcessSource {
  const starterOpts = starterOptions(config, deps);
  const native = useNative(config, deps);
  const node =
    config.spawners > 0
      ? createSpawnerStarter({ ...starterOpts, helpers: config.spawners })
      : createLocalStarter(starterOpts);
  if (!native && config.spawners === 0) {
    deps.logger.warn(
      "function processes start from the watchdog itself (spawners=0): they are not tied to the watchdog's life and outlive a watchdog killed outright (SIGKILL, OOM)",
    );
  }
  const starter = native ? createNativeStarter({ ...starterOpts, fallback: node }) : node;
  if (config.pool_size === 0) {
    return createFreshSource({
      starter,
      onStart: () => deps.metrics.processStarts.inc({ reason: "call" }),
    });
  }
  return createWarmPool({
    starter,
    size: config.pool_size,
    logger: deps.logger,
    onStart: (reason) => deps.metrics.processStarts.inc({ reason }),
    onSize: (idle) => deps.metrics.poolSize.set(idle),
  });
}

function starterOptions(config: WatchdogConfig, deps: RunnerDeps): StarterOptions {
  const { env, output, live, logger } = deps;
  return { command: command(config), env, output, live, logger };
}

/** Whether to start processes with the native spawner: wanted, and built. */
function useNative(config: WatchdogConfig, deps: RunnerDeps): boolean {
  const native = config.native_spawner && nativeSpawnerBuilt();
  if (config.native_spawner && !native) {
    deps.logger.info(
      "native spawner not built (no C compiler at install?): function processes start from Node",
    );
  }
  return native;
}

function command(config: WatchdogConfig): Command {
  if (config.fprocess === undefined) throw new Error(`fprocess is required in ${config.mode} mode`);
  return config.fprocess;
}
