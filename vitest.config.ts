import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["core/**/*.test.ts", "app/**/*.test.ts", "db/**/*.test.ts", "probe/**/*.test.ts", "e2e/**/*.test.ts", "client/**/*.test.ts", "integrations/**/*.test.ts", "bench/**/*.test.ts"],
    environment: "node",
    setupFiles: ["e2e/vitest-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests bind loopback ports and run real servers; two cores is all CI has.
    maxWorkers: 2,
  },
});
