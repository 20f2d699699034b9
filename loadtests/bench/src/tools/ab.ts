// The command line of the A/B tools (worker-ab, gateway-ab): two variants, each a checkout (its
// own node_modules), Node flags and extra environment; A defaults to this checkout.
import { resolve } from "node:path";
import { REPO_ROOT } from "@ferry/testkit";

/** One side of an A/B run. */
export interface Variant {
  name: "A" | "B";
  /** The checkout its service runs from. */
  dir: string;
  nodeArgs: string[];
  env: Record<string, string>;
}

/**
 * Reads `--rounds N`, `--a DIR`, `--b DIR`, `--a-node "FLAGS"`, `--b-node "FLAGS"`,
 * `--a-env "K=V …"` and `--b-env "K=V …"`; `positional` is what is left.
 */
export function abArgs(args: readonly string[]): {
  rounds: number;
  variants: [Variant, Variant];
  positional: string[];
} {
  const argv = [...args];
  const option = (name: string, fallback: string): string => {
    const at = argv.indexOf(name);
    return at >= 0 ? (argv.splice(at, 2)[1] ?? fallback) : fallback;
  };
  const rounds = Number(option("--rounds", "3"));
  const variant = (v: "a" | "b"): Variant => ({
    name: v === "a" ? "A" : "B",
    dir: resolve(option(`--${v}`, REPO_ROOT)),
    nodeArgs: option(`--${v}-node`, "").split(" ").filter(Boolean),
    env: Object.fromEntries(
      option(`--${v}-env`, "")
        .split(" ")
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    ),
  });
  const variants: [Variant, Variant] = [variant("a"), variant("b")];
  return { rounds, variants, positional: argv };
}
