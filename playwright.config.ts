// Browser tests of the web app: Debian's Chromium (never a downloaded browser) against the whole
// local stack (sqld, wrangler dev, a probe) and the simulated mail world, all on loopback.
import { defineConfig } from "@playwright/test";
import { CHROMIUM } from "./e2e/browser/chromium.ts";

export default defineConfig({
  testDir: "e2e/browser",
  testMatch: "*.spec.ts",
  globalSetup: "./e2e/browser/global-setup.ts",
  outputDir: "test-results/browser",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // One stack, two cores: the flows run one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
        // The page may reach loopback only.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
      ],
    },
    acceptDownloads: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
