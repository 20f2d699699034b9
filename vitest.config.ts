import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@ferry/source"] },
  ssr: { resolve: { conditions: ["@ferry/source"], externalConditions: ["@ferry/source"] } },
  test: {
    include: ["{shared,services,connectors,loadtests}/*/{src,test}/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default", "./vitest.reporter.ts"],
  },
});
