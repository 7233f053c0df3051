// Hostile uploaders and API callers at the edge (issue 10), inside workerd: bodies over the cap on
// every path that takes one, sent chunked (no Content-Length) and never ending; CSV that used to
// stall the reader; cells that normalise short but are long raw; parallel single checks against
// few credits; and the dev API key outside local mode.
import { env } from "cloudflare:test";
import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchSchema } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import type { BatchItem } from "../../core/ingest.ts";
import { accounts, batches, batchItems, creditLedger, jobs, probes } from "../../db/schema.ts";
import type { ProbeClient } from "../adapters/probeclient.ts";
import { ServiceError } from "../errors.ts";
import { buildServices } from "../context.ts";
import { moveStatements } from "../credits/ledger.ts";
import type { JobView } from "../../core/contracts.ts";
import { checkAddress } from "../verify/verify.ts";
import { call, errorCode, result, seedAccount, testDb as db } from "../testing.ts";
import { MAX_API_JSON_BYTES } from "./middleware.ts";

const CAP = 64 * 1024;
const capped: Env = { ...env, MXRAY_MAX_UPLOAD_BYTES: String(CAP) };
const CHUNK = 4096;

/** A body that starts with `head` and never ends, counting the bytes pulled from it. */
function endless(head: string, filler: string) {
  const state = { pulled: 0 };
  const head0 = new TextEncoder().encode(head);
  // Whole fillers only, so the body stays well formed however long it runs.
  const chunk = new TextEncoder().encode(filler.repeat(Math.floor(CHUNK / filler.length)));
  let first = true;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        const next = first ? head0 : chunk;
        first = false;
        state.pulled += next.byteLength;
        c.enqueue(next);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

describe("bodies over the cap, chunked and endless", () => {
  const multipartHead = (before: string) =>
    `--bnd\r\n${before}Content-Disposition: form-data; name="file"; filename="x.csv"\r\nContent-Type: text/csv\r\n\r\nemail\n`;
  const cases: { name: string; path: string; type: string; head: string; filler: string; limit: number }[] = [
    { name: "raw text", path: "/api/v1/jobs", type: "text/plain", head: "", filler: "someone@example.test\n", limit: CAP },
    { name: "raw CSV", path: "/api/v1/jobs", type: "text/csv", head: "name,email\n", filler: "Ann,ann@example.test\n", limit: CAP },
    { name: "multipart file", path: "/api/v1/jobs", type: "multipart/form-data; boundary=bnd", head: multipartHead(""), filler: "ann@example.test\n", limit: CAP },
    // Fields before the file, each under the field bound, in any number.
    { name: "multipart fields", path: "/api/v1/jobs", type: "multipart/form-data; boundary=bnd", head: "", filler: '--bnd\r\nContent-Disposition: form-data; name="x"\r\n\r\nvalue\r\n', limit: CAP },
    { name: "JSON list", path: "/api/v1/jobs", type: "application/json", head: '{"emails":[', filler: '"ann@example.test",', limit: CAP },
    { name: "single check", path: "/api/v1/verify", type: "application/json", head: '{"email":"', filler: "a", limit: MAX_API_JSON_BYTES },
  ];

  it.each(cases)("$name: 413 payload_too_large, having read no more than the cap and a chunk", async ({ path, type, head, filler, limit }) => {
    const { key, accountId } = await seedAccount();
    const { stream, state } = endless(head, filler);
    const res = await call(path, { method: "POST", key, body: stream, headers: { "content-type": type }, env: capped });
    expect([res.status, await errorCode(res)]).toEqual([413, "payload_too_large"]);
    expect(state.pulled).toBeGreaterThan(limit);
    expect(state.pulled).toBeLessThanOrEqual(limit + CHUNK + head.length);
    expect(await db().$count(jobs, eq(jobs.accountId, accountId))).toBe(0);
  });
});

describe("hostile lists", () => {
  const upload = (key: string, body: string) => call("/api/v1/jobs", { method: "POST", key, body, headers: { "content-type": "text/csv" } });

  it("a runaway quote over megabytes is one counted too_long reject, and the rows after it are read", async () => {
    const { key } = await seedAccount();
    const res = await upload(key, `name,email\nAnn,ann@x.test\nBo,"${"a,".repeat(2 * 1024 * 1024)}\nCy,cy@x.test\n`);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ total: 2, unique: 2, rejects: { no_address: 0, too_long: 1 } });
  });

  it("a cell padded with soft hyphens reaches the probe batch short and within the probe's schema; a longer one is a reject", async () => {
    const { key } = await seedAccount();
    const padded = (n: number, user: string) => `${user}@a${"\u00ad".repeat(n)}b.test`;
    const res = await upload(key, `email\n${padded(500, "x")}\n${padded(600, "y")}\n\u200b\nz@ab.test\n`);
    const job = (await res.json()) as JobView;
    expect(job).toMatchObject({ total: 2, unique: 2, rejects: { no_address: 1, too_long: 1 } });
    const rows = await db().select({ id: batches.id, items: batchItems.items }).from(batches).innerJoin(batchItems, eq(batchItems.batchId, batches.id)).where(eq(batches.jobId, job.id));
    const emails = rows.flatMap((r) => (JSON.parse(r.items) as BatchItem[]).map((i) => i[1]));
    expect(emails.sort()).toEqual(["x@ab.test", "z@ab.test"]);
    expect(BatchSchema.safeParse({ batch_id: rows[0]!.id, job_id: job.id, emails }).success).toBe(true);
  });
});

describe("parallel single checks against few credits", () => {
  const ours = newId("prb");
  beforeAll(async () => {
    await db().insert(probes).values({ id: ours, url: "http://standin.invalid", capacity: 100, status: "active", lastHeartbeatAt: Date.now() });
  });
  afterAll(async () => {
    await db().delete(probes).where(inArray(probes.id, [ours]));
  });

  it("N checks at once against k < N credits: exactly k answered, the rest insufficient_credits, the balance never below zero", async () => {
    const N = 8;
    const k = 3;
    const { accountId } = await seedAccount(0);
    await db().$client.batch(moveStatements({ accountId, delta: k, kind: "grant", reason: "admin_adjustment", actor: "system", key: `grant:${accountId}` }, Date.now()), "write");
    // Every check waits at the probe until all N are there: each has passed every read before one is charged.
    let arrived = 0;
    let release!: () => void;
    const all = new Promise<void>((r) => (release = r));
    const probeClient: ProbeClient = {
      kind: "stand-in",
      async verify(_probe, req) {
        if (++arrived === N) release();
        await all;
        return { ok: true, result: result(req.email, "deliverable") };
      },
      find: async () => ({ ok: false, error: "unreachable", detail: "not asked here" }),
      testRelay: async () => ({ ok: false, error: "unreachable", detail: "not asked here" }),
      sendMessage: async () => ({ ok: false, error: "unreachable", detail: "not asked here" }),
      checkSender: async () => ({ ok: false, error: "unreachable", detail: "not asked here" }),
      testMailbox: async () => ({ ok: false, error: "unreachable", detail: "not asked here" }),
      pollMailbox: async () => ({ ok: false, error: "unreachable", detail: "not asked here" }),
    };
    const s = { ...buildServices(env, { waitUntil: () => {} }, "http://edge.test"), probeClient };
    const outcomes = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        checkAddress(s, { accountId, actor: "user_test" }, { check: { email: `p${i}.${newId("req").slice(4, 12).toLowerCase()}@example.com` }, requestId: newId("req") }).then(
          () => "ok",
          (e: unknown) => (e instanceof ServiceError ? e.code : Promise.reject(e)),
        ),
      ),
    );
    expect(arrived).toBe(N);
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(k);
    expect(outcomes.filter((o) => o === "insufficient_credits")).toHaveLength(N - k);
    const [acc] = await db().select({ balance: accounts.creditBalance }).from(accounts).where(eq(accounts.id, accountId));
    const [ledger] = await db().select({ sum: sql<number>`sum(${creditLedger.delta})` }).from(creditLedger).where(eq(creditLedger.accountId, accountId));
    expect([acc!.balance, ledger!.sum]).toEqual([0, 0]);
  });
});

describe("the dev API key", () => {
  const devKey = env.MXRAY_DEV_API_KEY!;

  it("is an unknown key outside local mode (unset or production), and opens no internal route", async () => {
    for (const mode of [undefined, "production"]) {
      const bindings: Env = { ...env, MXRAY_MODE: mode };
      const res = await call("/api/v1/account", { key: devKey, env: bindings });
      expect([res.status, await errorCode(res)]).toEqual([401, "unauthorized"]);
      const meter = await call("/internal/meter", { key: devKey, env: bindings });
      expect(meter.status).toBe(404);
    }
  });

  it("still opens the local account in local mode", async () => {
    expect((await call("/api/v1/account", { key: devKey })).status).toBe(200);
    expect((await call("/internal/meter", { key: devKey })).status).toBe(200);
  });
});
