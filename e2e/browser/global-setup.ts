// Starts the whole stack with the simulated world once for the browser suite (or uses a running
// one from MXRAY_BROWSER_URL), and hands the tests its URL, dev key, the world's truth and its
// relay sink.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startStack } from "../stack.ts";
import { ensureChromium } from "./chromium.ts";
import { OPERATOR_EMAIL, type BrowserRelaySink } from "./fixtures.ts";
import { scratchDir } from "../scratch.ts";

export default async function globalSetup() {
  ensureChromium();
  const dataDir = scratchDir("browser");
  const stack = await startStack({ dataDir, world: true, sweepMs: 1_000, vars: { MXRAY_ADMIN_EMAILS: OPERATOR_EMAIL }, log: (l) => console.log(l), childOutput: process.env.MXRAY_E2E_LOGS ? "inherit" : "ignore" });
  const truthFile = join(dataDir, "truth.json");
  writeFileSync(truthFile, JSON.stringify(Object.fromEntries(stack.world!.truth)));
  process.env.MXRAY_BROWSER_URL = stack.url;
  process.env.MXRAY_BROWSER_TRUTH = truthFile;
  // Signs a stand-in probe's heartbeat (admin-probes.spec.ts: a probe that goes silent).
  process.env.MXRAY_BROWSER_PROBE_SECRET = stack.secrets.probeSecret;
  // The stack always serves the sink's inbox (relayInboxPort defaults to a free port).
  const { host, port, inboxUrl } = stack.relaySink;
  process.env.MXRAY_BROWSER_RELAY = JSON.stringify({ host, port, user: stack.relayUser, password: stack.relayPassword, inboxUrl: inboxUrl! } satisfies BrowserRelaySink);
  return async () => {
    await stack.stop();
  };
}
