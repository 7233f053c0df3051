// A real probe daemon (config, engine, outbox, server) pointed at the simulated world, for tests
// that cross the probe's HTTP face.
import { engineOptionsFrom, loadConfig } from "../../probe/config.ts";
import { createEngine } from "../../probe/engine.ts";
import { createMetrics } from "../../probe/metrics.ts";
import { createOutbox } from "../../probe/outbox.ts";
import { createProbeApp } from "../../probe/server.ts";
import type { World } from "./index.ts";

export function createWorldProbe(
  world: World,
  o: { probeId: string; secret: string; publicUrl: string; edgeUrl: string; signingKey: string; outboxDir: string },
) {
  const loaded = loadConfig({
    PROBE_ID: o.probeId,
    PROBE_SECRET: o.secret,
    PUBLIC_URL: o.publicUrl,
    EDGE_URL: o.edgeUrl,
    QSTASH_CURRENT_SIGNING_KEY: o.signingKey,
    QSTASH_NEXT_SIGNING_KEY: `${o.signingKey}-next`,
    MXRAY_HELO: "probe.mxray.test",
    MXRAY_DNS: world.dnsServer,
    MXRAY_SMTP_PORT: String(world.smtpPort),
    MXRAY_TIMEOUT_MS: "2000",
    MXRAY_GREYLIST_BUDGET_MS: "3000",
    MXRAY_OUTBOX_DIR: o.outboxDir,
    MXRAY_ALLOW_PRIVATE_TARGETS: "1", // the world is on loopback
  });
  if (!loaded.ok) throw new Error(loaded.error);
  const config = loaded.value;
  const engine = createEngine(engineOptionsFrom(config));
  const outbox = createOutbox({ dir: o.outboxDir, edgeUrl: o.edgeUrl, secret: o.secret });
  const app = createProbeApp({ engine, config, outbox, metrics: createMetrics(), probeId: o.probeId });
  return { ...app, outbox, engine, config };
}
