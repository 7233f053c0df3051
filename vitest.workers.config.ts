// Tests that run inside workerd (the Worker and its Durable Objects). Node tests have their own
// config (vitest.config.ts) so the Workers pool never loads them.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
  test: {
    include: ["edge/**/*.test.ts"],
    testTimeout: 30_000,
  },
});
