// A database outage mid-job (the "stop sqld for 30 s", shortened): the world's mail servers
// hold their replies until sqld has stopped, so the probe is sure to have answers to deliver while
// it is down (no race with a fast batch); sqld starts again, on the same port and data, once the
// probe's outbox has had to retry. While it is down the API says so (503 `unavailable` with Retry-After, not 500) and the
// probe keeps its result chunks; once it is back the job completes with exact counts, and the
// account is charged exactly once for what was verified.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDb } from "../db/client.ts";
import { accounts, creditLedger } from "../db/schema.ts";
import { eq } from "drizzle-orm";
import type { Stack } from "./stack.ts";
import { apiCall, formatSoak, probeMetric, runSoak, startSoakStack, until, type Answer } from "./soak.ts";
import type { World } from "./world/index.ts";

const ADDRESSES = 3_000;
/** The dev key's account (edge/identity/keys.ts; not imported: that module needs the Worker's types). */
const DEV_ACCOUNT_ID = "acc_local_dev";
const RETRIES = 'mxray_result_post_failures_total{kind="retry"}';
const DROPPED = 'mxray_result_post_failures_total{kind="dropped"}';
let world: World;
let stack: Stack;

beforeAll(async () => {
  // Small batches one at a time, and a world with a round trip, keep the job in flight for
  // several seconds: the outage begins while the probe still has answers to post.
  ({ world, stack } = await startSoakStack({
    world: "mixed",
    vars: { MXRAY_BATCH_SIZE: "1000" },
    // One batch at a time; SMTP timeouts far beyond the pause, which must not turn answers unknown.
    probeEnv: { MXRAY_MAX_INFLIGHT_BATCHES: "1", MXRAY_TIMEOUT_MS: "60000" },
  }));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await world?.stop();
});

it("answers 503 unavailable while sqld is down, loses no chunk, and completes with exact counts and credits once it is back", async () => {
  const probe = stack.probes[0]!;
  const before = await apiCall(stack, "/api/v1/account");
  expect(before.status).toBe(200);
  const creditsBefore = (before.body as { credits: number }).credits;

  const during: { account?: Answer & { body: unknown }; job?: Answer & { body: unknown }; outboxDepth?: number } = {};
  world.pause();
  const report = await runSoak(stack, {
    addresses: ADDRESSES,
    world: "mixed",
    timeoutMs: 150_000,
    outage: {
      // The probe holds the first batch and no mail server has answered it yet.
      at: "probe-busy",
      async hold({ jobId }) {
        world.resume();
        // Retried posts prove the probe had answers to deliver and is keeping them.
        await until("the probe's outbox retrying while sqld is down (was the job already done?)", async () => (await probeMetric(probe.url, RETRIES)) >= 2, 30_000);
        during.outboxDepth = await probeMetric(probe.url, "mxray_outbox_depth");
        during.account = await apiCall(stack, "/api/v1/account");
        during.job = await apiCall(stack, `/api/v1/jobs/${jobId}`);
      },
    },
  });
  console.log(formatSoak(report));

  // While down: the API's answer (soft, so one run shows every way it falls short).
  for (const [what, a] of Object.entries({ account: during.account, job: during.job })) {
    expect.soft(a?.status, `GET ${what} while sqld is down`).toBe(503);
    expect.soft(a?.body, `GET ${what} while sqld is down`).toMatchObject({ error: { code: "unavailable", message: expect.any(String) } });
    expect.soft(a?.retryAfter ?? "(none)", `GET ${what}: Retry-After while sqld is down`).toMatch(/^\d+$/);
  }
  expect.soft(report.outage?.wrong, "the sampler's answers while sqld was down").toEqual([]);
  expect.soft(report.fiveXX, "5xx outside the outage").toEqual({ sampler: 0, uploader: 0 });
  expect(during.outboxDepth).toBeGreaterThan(0);
  expect(report.outage!.processedAtStop).toBeLessThan(ADDRESSES);

  // Back up: the job completes with every address counted once, as the world says.
  expect(report.stopped).toBeNull();
  expect(report.job).toMatchObject({ status: "completed", unique: ADDRESSES, processed: ADDRESSES });
  expect(report.countsAddUp).toBe(true);
  expect(report.job!.counts).toEqual(report.expected);
  expect(await probeMetric(probe.url, DROPPED)).toBe(0);
  await until("the probe's outbox to drain", async () => (await probeMetric(probe.url, "mxray_outbox_depth")) === 0, 30_000);

  // Credits: reserved once, unknowns refunded once; used = deliverable + undeliverable + risky.
  const { deliverable, undeliverable, risky, unknown } = report.job!.counts;
  const after = await apiCall(stack, "/api/v1/account");
  expect((after.body as { credits: number }).credits).toBe(creditsBefore - (deliverable + undeliverable + risky));
  const { db, client } = createDb({ url: stack.sqld.url });
  try {
    const jobId = report.jobId!;
    const entries = await db.select().from(creditLedger).where(eq(creditLedger.jobId, jobId));
    expect(entries.map((e) => [e.idempotencyKey, e.delta]).sort()).toEqual([
      [`reserve:${jobId}`, -ADDRESSES],
      [`settle:${jobId}`, unknown],
    ]);
    // The cached balance is the ledger's sum: no entry was written without its balance move.
    const [account] = await db.select().from(accounts).where(eq(accounts.id, DEV_ACCOUNT_ID));
    const ledger = await db.select().from(creditLedger).where(eq(creditLedger.accountId, DEV_ACCOUNT_ID));
    expect(account!.creditBalance).toBe(ledger.reduce((n, e) => n + e.delta, 0));
  } finally {
    client.close();
  }
}, 240_000);
