// Bulk finding (issue 14) through the jobs API inside workerd on a real sqld: a people list becomes
// a job of kind `find`, its answers come back as result chunks' `finds`, the domain's pattern is
// learned once, only people found are charged, and the export carries the address found.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { FindAnswer } from "../../core/contracts.ts";
import type { BatchItem } from "../../core/ingest.ts";
import type { LiveMessage } from "../../core/live.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { accounts, batches, batchItems, domainPatterns, jobEmails, jobs } from "../../db/schema.ts";
import { applyResultChunk, GREYLIST_RETRY_MS, MAX_DISPATCH_ATTEMPTS } from "../jobs/results.ts";
import { call, errorCode, seedAccount, testDb as db } from "../testing.ts";
import type { JobView } from "../../core/contracts.ts";

const createFind = (key: string, body: BodyInit, type: string) =>
  call("/api/v1/jobs?kind=find", { method: "POST", key, body, headers: { "content-type": type } });

/** A domain no other test uses: domain_patterns is shared by every account. */
const freshDomain = () => `acme-${crypto.randomUUID().slice(0, 8)}.test`;

const REASON = { deliverable: "accepted", risky: "catch_all", undeliverable: "mailbox_not_found", unknown: "timeout" } as const;
type Find = FindAnswer & { key: string };
const answer = (key: string, verdict: FindAnswer["verdict"], email: string | null = null, pattern: string | null = null): Find => ({
  key, email, verdict, reason: REASON[verdict], confidence: email ? 90 : 0, pattern, catch_all: verdict === "risky", candidates: [], duration_ms: 1,
});

async function itemsOf(jobId: string) {
  const rows = await db().select({ id: batches.id, items: batchItems.items }).from(batches).innerJoin(batchItems, eq(batchItems.batchId, batches.id)).where(eq(batches.jobId, jobId));
  return rows.map((r) => ({ id: r.id, items: JSON.parse(r.items) as BatchItem[] }));
}

async function post(jobId: string, batchId: string, seq: number, finds: Find[], final: boolean) {
  const body = JSON.stringify({ probe_id: "prb_t", batch_id: batchId, job_id: jobId, seq, final, results: [], finds });
  const res = await call("/internal/probes/results", { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path: "/internal/probes/results" }, body) } });
  expect(res.status).toBe(200);
}

describe("POST /api/v1/jobs?kind=find", () => {
  it("reads a people CSV by its headers, dedupes people, counts unusable rows, and reserves a credit per person", async () => {
    const { key, accountId } = await seedAccount(10);
    const d = freshDomain();
    const csv = `First Name,Last_Name,Company Website,Title\nAda,Lovelace,https://www.${d}/about,CEO\nada,LOVELACE,${d},CTO\nMadonna,,${d},Singer\nGrace,Hopper,,Admiral\n`;
    const res = await createFind(key, csv, "text/csv");
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobView;
    expect(job).toMatchObject({ kind: "find", status: "queued", total: 2, unique: 1, rejects: { no_address: 0, too_long: 0, invalid_person: 2 } });
    expect(await (await call(`/api/v1/jobs/${job.id}`, { key })).json()).toMatchObject({ kind: "find" });
    const [batch] = await itemsOf(job.id);
    expect(batch!.items).toEqual([[`ada||lovelace|${d}`, `Ada Lovelace <${d}>`, 0, JSON.stringify(["Ada", "Lovelace", `https://www.${d}/about`, "CEO"]), { first: "Ada", middle: "", last: "Lovelace", domain: d }]]);
    const [acc] = await db().select().from(accounts).where(eq(accounts.id, accountId));
    expect(acc!.creditBalance).toBe(9);
  });

  it("refuses a list without a domain or a name column, naming it, and keeps no job", async () => {
    const { key, accountId } = await seedAccount(10);
    const noDomain = await createFind(key, "first_name,last_name,company\nAda,Lovelace,Acme\n", "text/csv");
    expect(noDomain.status).toBe(400);
    const body = (await noDomain.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: "validation_failed" });
    expect(body.error.message).toContain("No domain column");
    expect(await errorCode(await createFind(key, "email,domain\nx@y.test,y.test\n", "text/csv"))).toBe("validation_failed");
    expect(await errorCode(await call("/api/v1/jobs?kind=lookup", { method: "POST", key, body: "a@x.test", headers: { "content-type": "text/plain" } }))).toBe("validation_failed");
    expect(await db().select().from(jobs).where(eq(jobs.accountId, accountId))).toEqual([]);
  });

  it("takes JSON people; applies finds once however often a chunk comes, learns the pattern once, charges only people found, exports the address", async () => {
    const { key, accountId } = await seedAccount(10);
    const [d, catchAll] = [freshDomain(), freshDomain()];
    const people = [
      { first_name: "Ada", last_name: "Lovelace", domain: d },
      { full_name: "Grace Hopper", domain: catchAll },
      { first_name: "Alan", last_name: "Turing", domain: d },
      { first_name: "Kurt", last_name: "Gödel", domain: d },
    ];
    const res = await createFind(key, JSON.stringify({ name: "leads", people }), "application/json");
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobView;
    expect(job).toMatchObject({ kind: "find", total: 4, unique: 4 });
    const keys = new Map((await itemsOf(job.id)).flatMap((b) => b.items.map((i) => [i[4]!.last, { key: i[0], batch: b.id }] as const)));
    for (const b of await itemsOf(job.id)) await db().update(batches).set({ status: "dispatched" }).where(eq(batches.id, b.id));

    const byBatch = new Map<string, Find[]>();
    const add = (last: string, f: (k: string) => Find) => byBatch.set(keys.get(last)!.batch, [...(byBatch.get(keys.get(last)!.batch) ?? []), f(keys.get(last)!.key)]);
    add("Lovelace", (k) => answer(k, "deliverable", `ada.lovelace@${d}`, "first.last"));
    add("Hopper", (k) => answer(k, "risky", `grace.hopper@${catchAll}`, "first.last"));
    add("Turing", (k) => answer(k, "undeliverable"));
    add("Gödel", (k) => answer(k, "unknown"));
    for (const [batchId, finds] of byBatch) {
      await post(job.id, batchId, 0, finds, false);
      await post(job.id, batchId, 0, finds, false); // a retried chunk changes nothing
      await post(job.id, batchId, 1, [], true);
    }

    const done = (await (await call(`/api/v1/jobs/${job.id}`, { key })).json()) as JobView;
    expect(done).toMatchObject({ status: "completed", processed: 4, counts: { deliverable: 1, risky: 1, undeliverable: 1, unknown: 1 } });
    // Learned from the deliverable answer only (not the catch-all one), and once.
    expect(await db().select({ pattern: domainPatterns.pattern, count: domainPatterns.count }).from(domainPatterns).where(eq(domainPatterns.domain, d))).toEqual([{ pattern: "first.last", count: 1 }]);
    expect(await db().select().from(domainPatterns).where(eq(domainPatterns.domain, catchAll))).toEqual([]);
    // 4 reserved, 2 found (deliverable + risky): 2 come back.
    const [acc] = await db().select().from(accounts).where(eq(accounts.id, accountId));
    expect(acc!.creditBalance).toBe(8);

    const csv = await (await call(`/api/v1/jobs/${job.id}/results?format=csv`, { key })).text();
    const lines = csv.trim().split("\r\n");
    expect(lines[0]).toBe("first_name,last_name,full_name,domain,email,verdict,reason,confidence,pattern,catch_all");
    expect(lines[1]).toBe(`Ada,Lovelace,,${d},ada.lovelace@${d},deliverable,accepted,90,first.last,false`);
    expect(lines[2]).toBe(`,,Grace Hopper,${catchAll},grace.hopper@${catchAll},risky,catch_all,90,first.last,true`);
    expect(lines[3]).toBe(`Alan,Turing,,${d},,undeliverable,mailbox_not_found,0,,false`);
    const json = (await (await call(`/api/v1/jobs/${job.id}/results?format=json`, { key })).json()) as (FindAnswer & { person: string })[];
    expect(json[0]).toMatchObject({ person: `Ada Lovelace <${d}>`, email: `ada.lovelace@${d}`, verdict: "deliverable", confidence: 90, pattern: "first.last" });
  });

  it("sends each person's answer to the job's live page as it arrives, without the key or the trace", async () => {
    const { key } = await seedAccount(10);
    const d = freshDomain();
    const job = (await (await createFind(key, JSON.stringify({ people: [{ first_name: "Ada", last_name: "Lovelace", domain: d }, { first_name: "Alan", last_name: "Turing", domain: d }] }), "application/json")).json()) as JobView;
    const [batch] = await itemsOf(job.id);
    await db().update(batches).set({ status: "dispatched" }).where(eq(batches.id, batch!.id));
    const ws = (await env.JOB_HUB.get(env.JOB_HUB.idFromName(job.id)).fetch("http://hub/ws", { headers: { Upgrade: "websocket" } })).webSocket!;
    ws.accept();
    const rows: unknown[] = [];
    const both = new Promise<void>((resolve) =>
      ws.addEventListener("message", (e) => {
        const m = JSON.parse(e.data as string) as LiveMessage;
        rows.push(...m.latest);
        if (rows.length >= 2) resolve();
      }),
    );
    const [ada, alan] = batch!.items.map((i) => i[0]);
    const found = { ...answer(ada!, "deliverable", `ada.lovelace@${d}`, "first.last"), trace: [`C: RCPT TO:<ada.lovelace@${d}>`] };
    await post(job.id, batch!.id, 0, [found, answer(alan!, "undeliverable")], false);
    await both;
    const { key: _k, trace: _t, ...shown } = found;
    const { key: _k2, ...refused } = answer(alan!, "undeliverable");
    expect(rows).toEqual(expect.arrayContaining([shown, refused]));
    expect(JSON.stringify(rows)).not.toContain(ada!);
    ws.close(1000, "done");
  });

  it("re-queues a person greylisted before the last round with the person kept, and gives up with a find's answer", async () => {
    const { key } = await seedAccount(10);
    const d = freshDomain();
    const job = (await (await createFind(key, JSON.stringify({ people: [{ full_name: "Ada Lovelace", domain: d }] }), "application/json")).json()) as JobView;
    const [first] = await itemsOf(job.id);
    const person = first!.items[0]!;
    await db().update(batches).set({ status: "dispatched" }).where(eq(batches.id, first!.id));
    const now = 1_700_000_000_000;
    const grey = { ...answer(person[0], "unknown"), reason: "greylisted" as const };
    const out = await applyResultChunk(db(), { probe_id: "prb_t", batch_id: first!.id, job_id: job.id, seq: 0, final: true, results: [], finds: [grey] }, now);
    expect(out).toMatchObject({ applied: 0, requeued: 1 });
    const again = (await itemsOf(job.id)).find((b) => b.id !== first!.id)!;
    expect(again.items).toEqual([person]);
    const [requeued] = await db().select().from(batches).where(eq(batches.id, again.id));
    expect(requeued!.notBefore).toBe(now + GREYLIST_RETRY_MS);

    // Asked too often: the person is answered "unknown" with no address, in a find's shape.
    await db().update(batches).set({ status: "dispatched", attempts: MAX_DISPATCH_ATTEMPTS }).where(eq(batches.id, again.id));
    const gaveUp = await applyResultChunk(db(), { probe_id: "edge", batch_id: again.id, job_id: job.id, seq: 0, final: true, results: [] }, now);
    expect(gaveUp).toMatchObject({ applied: 1, finished: true });
    const [row] = await db().select().from(jobEmails).where(eq(jobEmails.jobId, job.id));
    expect(JSON.parse(row!.result)).toEqual({ email: null, verdict: "unknown", reason: row!.reason, confidence: 0, pattern: null, catch_all: null, candidates: [], duration_ms: 0 });
    const csv = await (await call(`/api/v1/jobs/${job.id}/results?format=csv`, { key })).text();
    expect(csv.trim().split("\r\n")[1]).toBe(`,,Ada Lovelace,${d},,unknown,${row!.reason},0,,`);
  });
});
