// Tests that run inside workerd (the Worker and its Durable Objects). Node tests have their own
// config (vitest.config.ts) so the Workers pool never loads them. A real sqld, migrated, is
// started here (on the Node side) and handed to the Worker as TURSO_DATABASE_URL, and so is a
// real redis-server behind the Upstash REST bridge (UPSTASH_REDIS_REST_URL/_TOKEN).
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { migrateDb } from "./db/migrate.ts";
import { startSqld } from "./db/sqld.ts";
import { startRedis } from "./e2e/redis.ts";
import { startStandInProbe } from "./e2e/standin-probe.ts";
import { startStandInApollo, startStandInPdl } from "./e2e/standin-peopledata.ts";
import { startStandInReceiver } from "./e2e/standin-receiver.ts";
import { startStandInStripe } from "./e2e/standin-stripe.ts";
import { startUpstashBridge } from "./e2e/upstash-bridge.ts";
import { scratchDir } from "./e2e/scratch.ts";

/** The probe secret the Worker under test trusts (tests sign with it). */
export const TEST_PROBE_SECRET = "test-probe-secret-0123456789abcdef";
/** The session secret the Worker under test signs cookies and live tokens with, and the one it replaced. */
export const TEST_SESSION_SECRET = "test-session-secret-0123456789abcdef";
export const TEST_SESSION_SECRET_PREVIOUS = "test-session-secret-before-rotation-0123";
/** The secret the Worker under test verifies Stripe's webhooks with (tests sign events with it). */
export const TEST_STRIPE_WEBHOOK_SECRET = "whsec_test0123456789abcdef0123456789abcdef";

/**
 * The master keys the Worker under test seals secrets with: `t2` seals, `t1` (an older key, as
 * after a rotation) still opens. Test keys only; `npm start` makes a random one per install.
 */
export const TEST_ENCRYPTION_KEYS = "t2:bXhyYXkgdGVzdCBlbmNyeXB0aW9uIGtleSwgbm8uIDI=,t1:bXhyYXkgdGVzdCBlbmNyeXB0aW9uIGtleSwgbm8uIDE=";

/** The API key the People Data Labs and Apollo stand-ins accept. */
export const TEST_PEOPLEDATA_KEY = "test-peopledata-key-0123456789";

export default defineConfig({
  plugins: [
    cloudflareTest(async () => {
      const sqld = await startSqld({ dataDir: scratchDir("workers-db") });
      await migrateDb(sqld.url);
      // The sweeper works on every probe and batch, so its tests get a database of their own.
      const fleetDb = await startSqld({ dataDir: scratchDir("workers-fleet") });
      await migrateDb(fleetDb.url);
      // The single check asks every live probe, so its tests get a database whose probes are
      // only the ones they register, all of them paths of one scripted stand-in on loopback.
      const verifyDb = await startSqld({ dataDir: scratchDir("workers-verify") });
      await migrateDb(verifyDb.url);
      // The webhook sweeper works on every due delivery, so its tests get a database of their own.
      const webhooksDb = await startSqld({ dataDir: scratchDir("workers-webhooks") });
      await migrateDb(webhooksDb.url);
      // The console reads and changes every probe, so its tests get a database of their own.
      const adminDb = await startSqld({ dataDir: scratchDir("workers-admin") });
      await migrateDb(adminDb.url);
      // Relay tests and sender confirmations ask a live probe, so each file gets a database whose
      // only probes are the stand-in's paths it registers (or none).
      const relaysDb = await startSqld({ dataDir: scratchDir("workers-relays") });
      await migrateDb(relaysDb.url);
      const sendersDb = await startSqld({ dataDir: scratchDir("workers-senders") });
      await migrateDb(sendersDb.url);
      // Send dispatch and the campaigns' sweeper act on every send batch and probe: a database of their own.
      const campaignsDb = await startSqld({ dataDir: scratchDir("workers-campaigns") });
      await migrateDb(campaignsDb.url);
      // A probe's heartbeat takes every bounce mailbox no live probe reads: the mailbox API's tests
      // and the assignment's get a database each.
      const mailboxesDb = await startSqld({ dataDir: scratchDir("workers-mailboxes") });
      await migrateDb(mailboxesDb.url);
      const assignDb = await startSqld({ dataDir: scratchDir("workers-mailbox-assign") });
      await migrateDb(assignDb.url);
      const redis = await startRedis();
      const upstash = await startUpstashBridge({ redisPort: redis.port, redisPassword: redis.password, token: "test-upstash-token" });
      const standInProbe = await startStandInProbe({ secret: TEST_PROBE_SECRET });
      // Billing's calls go to the Stripe stand-in. Nothing listens for its webhooks here (the
      // Worker under test has no port): tests take its events and deliver them to the Worker
      // themselves, and its retries are never scheduled.
      const standInStripe = await startStandInStripe({ webhookUrl: "http://127.0.0.1:9/webhooks/stripe", webhookSecret: TEST_STRIPE_WEBHOOK_SECRET, schedule: () => {} });
      // A Stripe account where no Price was set up: what is sold goes at its default price.
      const bareStripe = await startStandInStripe({ webhookUrl: "http://127.0.0.1:9/webhooks/stripe", webhookSecret: TEST_STRIPE_WEBHOOK_SECRET, schedule: () => {}, catalog: [] });
      // Webhook deliveries go to this loopback receiver (http to loopback: local mode).
      const receiver = await startStandInReceiver();
      // Decision makers' providers. The Worker's own bindings hold no key (the feature is off);
      // tests turn one on with these URLs and the key both stand-ins share.
      const pdl = await startStandInPdl({ apiKey: TEST_PEOPLEDATA_KEY });
      const apollo = await startStandInApollo({ apiKey: TEST_PEOPLEDATA_KEY });
      return {
        // The Worker without the Remix app (edge/entry.ts needs a build; the pages are tested in a
        // browser against `wrangler dev`).
        main: "./edge/worker.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            MXRAY_MODE: "local",
            TURSO_DATABASE_URL: sqld.url,
            FLEET_TEST_DATABASE_URL: fleetDb.url,
            VERIFY_TEST_DATABASE_URL: verifyDb.url,
            WEBHOOKS_TEST_DATABASE_URL: webhooksDb.url,
            ADMIN_TEST_DATABASE_URL: adminDb.url,
            RELAYS_TEST_DATABASE_URL: relaysDb.url,
            SENDERS_TEST_DATABASE_URL: sendersDb.url,
            CAMPAIGNS_TEST_DATABASE_URL: campaignsDb.url,
            BOUNCE_MAILBOXES_TEST_DATABASE_URL: mailboxesDb.url,
            MAILBOX_ASSIGN_TEST_DATABASE_URL: assignDb.url,
            UPSTASH_REDIS_REST_URL: upstash.url,
            UPSTASH_REDIS_REST_TOKEN: upstash.token,
            STANDIN_PROBE_URL: standInProbe.url,
            STANDIN_RECEIVER_URL: receiver.url,
            STANDIN_PDL_URL: pdl.url,
            STANDIN_APOLLO_URL: apollo.url,
            STANDIN_PEOPLEDATA_KEY: TEST_PEOPLEDATA_KEY,
            PROBE_SECRET: TEST_PROBE_SECRET,
            SESSION_SECRET: TEST_SESSION_SECRET,
            SESSION_SECRET_PREVIOUS: `unused-older-secret-0123456789, ${TEST_SESSION_SECRET_PREVIOUS}`,
            MXRAY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
            MXRAY_DEV_API_KEY: "mx_test_devkeydevkeydevkeydevkeydevkey12",
            STRIPE_WEBHOOK_SECRET: TEST_STRIPE_WEBHOOK_SECRET,
            STRIPE_SECRET_KEY: standInStripe.secretKey,
            STRIPE_API_URL: standInStripe.url,
            STANDIN_STRIPE_BARE_URL: bareStripe.url,
            MXRAY_RATE_LIMIT_PER_MIN: "40",
            MXRAY_BATCH_SIZE: "50",
            MXRAY_MAX_UPLOAD_BYTES: String(8 * 1024 * 1024),
          },
        },
      };
    }),
  ],
  test: {
    include: ["edge/**/*.test.ts"],
    testTimeout: 30_000,
  },
});
