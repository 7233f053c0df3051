// The jobs API inside workerd on a real sqld: every upload shape, the job's contract, export,
// cancel, tenant isolation and bad input. (No dispatcher is configured here, so jobs stay queued
// unless results are posted; dispatch itself is tested in edge/dispatch/dispatch.test.ts and e2e.)
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import type { Result } from "../../core/contracts.ts";
import type { BatchItem } from "../../core/ingest.ts";
import type { LiveMessage } from "../../core/live.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { accounts, apiKeys, batches, batchItems, jobs } from "../../db/schema.ts";
import { call, errorCode, result, seedAccount, testDb as db } from "../testing.ts";
import type { JobView } from "../../core/contracts.ts";

async function createJob(key: string, body: BodyInit, type: string, query = "") {
  return call(`/api/v1/jobs${query}`, { method: "POST", key, body, headers: type ? { "content-type": type } : {} });
}

/** Answers every batch of a job as a probe would (signed), each address "deliverable" unless told. */
async function answerAll(jobId: string, verdictOf: (email: string) => Result["verdict"] = () => "deliverable") {
  const rows = await db().select({ id: batches.id, items: batchItems.items }).from(batches).innerJoin(batchItems, eq(batchItems.batchId, batches.id)).where(eq(batches.jobId, jobId));
  for (const b of rows) {
    await db().update(batches).set({ status: "dispatched" }).where(eq(batches.id, b.id));
    const items = JSON.parse(b.items) as BatchItem[];
    const body = JSON.stringify({ probe_id: "prb_t", batch_id: b.id, job_id: jobId, seq: 0, final: true, results: items.map((i) => result(i[1], verdictOf(i[1]))) });
    const res = await call("/internal/probes/results", { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path: "/internal/probes/results" }, body) } });
    expect(res.status).toBe(200);
  }
}

describe("POST /api/v1/jobs", () => {
  it("takes a JSON array: dedupes case-insensitively, answers bad syntax at once, reserves credits", async () => {
    const { key, accountId } = await seedAccount(100);
    const res = await createJob(key, JSON.stringify({ name: "json list", emails: ["Ada@Example.com", "ada@example.com", "grace@example.org", "not an address", " "] }), "application/json");
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobView;
    expect(job).toMatchObject({ name: "json list", status: "queued", total: 4, unique: 3, processed: 1, counts: { deliverable: 0, undeliverable: 1, risky: 0, unknown: 0 }, finished_at: null });
    expect(job.id).toMatch(/^job_/);
    expect(Date.parse(job.created_at)).toBeGreaterThan(0);
    const [acc] = await db().select().from(accounts).where(eq(accounts.id, accountId));
    expect(acc!.creditBalance).toBe(97);
    const queued = await db().select().from(batches).where(eq(batches.jobId, job.id));
    expect(queued.reduce((n, b) => n + b.size, 0)).toBe(2);
  });

  it("takes plain text, raw CSV (name from the query) and multipart, finding the email column", async () => {
    const { key } = await seedAccount();
    const text = await createJob(key, "a@x.test\nb@x.test\n\nA@X.TEST\n", "text/plain");
    expect(await text.json()).toMatchObject({ total: 3, unique: 2 });
    const csv = await createJob(key, "Name,E-mail,Plan\nAda,ada@x.test,pro\nBob,bob@y.test,free\n", "text/csv", "?name=crm%20export");
    expect(await csv.json()).toMatchObject({ name: "crm export", total: 2, unique: 2 });
    const form = new FormData();
    form.set("file", new File(["id;contact\n1;c@x.test\n2;d@x.test\n3;c@x.test\n"], "leads.csv", { type: "text/csv" }));
    const multi = await call("/api/v1/jobs", { method: "POST", key, body: form });
    expect(multi.status).toBe(201);
    expect(await multi.json()).toMatchObject({ name: "leads.csv", total: 3, unique: 2 });
  });

  it("reads a plain list with quotes line by line and counts rows without an address (issue 9)", async () => {
    const { key } = await seedAccount();
    const lines = ['"john doe"@example.com', '"stray@example.com', "ada@example.com", '"doe, john"@example.com', 'jo"hn@example.com', "ADA@example.com", '""'];
    const res = await createJob(key, `\uFEFF${lines.join("\r\n")}\r\n\r\nlast@example.com`, "text/plain");
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobView;
    // 8 non-blank lines: 7 with an address cell (one a repeat) and one empty quoted cell.
    expect(job).toMatchObject({ total: 7, unique: 6, rejects: { no_address: 1, too_long: 0 } });
    expect(await (await call(`/api/v1/jobs/${job.id}`, { key })).json()).toMatchObject({ rejects: { no_address: 1, too_long: 0 } });
    const csv = (await (await createJob(key, "name,email\nAda,ada@x.test\nBo,\n,,\n", "text/csv")).json()) as JobView;
    expect(csv).toMatchObject({ total: 1, unique: 1, rejects: { no_address: 2 } });
  });

  it("uses the email column the caller names (header or index, raw or multipart), and refuses one that is not there", async () => {
    const { key } = await seedAccount();
    const csv = "id,work,home\n1,ada@work.test,ada@home.test\n2,bob@work.test,bob@@home.test\n";
    const byName = (await (await createJob(key, csv, "text/csv", "?email_column=home")).json()) as JobView;
    expect(byName).toMatchObject({ unique: 2, counts: { undeliverable: 1 } });
    const out = await (await call(`/api/v1/jobs/${byName.id}/results?format=jsonl`, { key })).text();
    // Only the bad address is answered before a probe runs: it is the one from the chosen column.
    expect(out.trim().split("\n").map((l) => (JSON.parse(l) as { email: string }).email)).toEqual(["bob@@home.test"]);
    const byIndex = (await (await createJob(key, csv, "text/csv", "?email_column=1")).json()) as JobView;
    expect(byIndex).toMatchObject({ unique: 2, counts: { undeliverable: 0 } });
    const form = new FormData();
    form.set("email_column", "HOME"); // fields first: the file is read as it streams in
    form.set("file", new File([csv], "people.csv", { type: "text/csv" }));
    expect(await (await call("/api/v1/jobs", { method: "POST", key, body: form })).json()).toMatchObject({ counts: { undeliverable: 1 } });
    const late = new FormData();
    late.set("file", new File([csv], "people.csv", { type: "text/csv" }));
    late.set("email_column", "HOME");
    const refused = await call("/api/v1/jobs", { method: "POST", key, body: late });
    expect([refused.status, await errorCode(refused)]).toEqual([400, "bad_request"]);
    const listed = (await (await call("/api/v1/jobs?limit=100", { key })).json()) as { data: JobView[] };
    expect(listed.data.every((j) => j.status !== "ingesting")).toBe(true); // the refused upload left nothing behind
    const missing = await createJob(key, csv, "text/csv", "?email_column=phone");
    expect(missing.status).toBe(400);
    expect(await errorCode(missing)).toBe("no_email_column");
  });

  it("streams results as jsonl with the CLI's fields, json, and csv keeping the upload's columns, injection-safe", async () => {
    const { key } = await seedAccount();
    const csv = "Name,Email\n=HYPERLINK(\"http://x\"),ada@x.test\nBob,bob@x.test\nEve,eve@@x.test\n";
    const job = (await (await createJob(key, csv, "text/csv")).json()) as JobView;
    await answerAll(job.id, (e) => (e.startsWith("bob") ? "undeliverable" : "deliverable"));
    const done = (await (await call(`/api/v1/jobs/${job.id}`, { key })).json()) as JobView;
    expect(done).toMatchObject({ status: "completed", processed: 3, progress: 1, counts: { deliverable: 1, undeliverable: 2 } });
    expect(done.finished_at).not.toBeNull();

    const jsonl = await call(`/api/v1/jobs/${job.id}/results?format=jsonl`, { key });
    expect(jsonl.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await jsonl.text()).trim().split("\n").map((l) => JSON.parse(l) as Result);
    expect(lines.map((l) => l.email)).toEqual(["ada@x.test", "bob@x.test", "eve@@x.test"]);
    for (const field of ["email", "normalized", "verdict", "reason", "catch_all", "disposable", "role", "free", "suggestion", "score", "mx", "smtp", "duration_ms"]) {
      expect(lines[0]).toHaveProperty(field);
    }
    expect(lines[2]).toMatchObject({ verdict: "undeliverable", reason: "invalid_syntax" });

    const filtered = (await (await call(`/api/v1/jobs/${job.id}/results?format=json&verdict=undeliverable`, { key })).json()) as Result[];
    expect(filtered.map((r) => r.email)).toEqual(["bob@x.test", "eve@@x.test"]);

    const out = await call(`/api/v1/jobs/${job.id}/results?format=csv`, { key });
    expect(out.headers.get("content-type")).toContain("text/csv");
    const rows = (await out.text()).trim().split("\r\n");
    expect(rows[0]).toBe("Name,Email,verdict,reason,score,catch_all,disposable,role,free,suggestion,mx,smtp_code,smtp_message,safe_to_send");
    expect(rows[1]).toMatch(/^"'=HYPERLINK\(""http:\/\/x""\)",ada@x\.test,deliverable,accepted,/);
    expect(rows).toHaveLength(4);

    const badFilter = await call(`/api/v1/jobs/${job.id}/results?verdict=great`, { key });
    expect([badFilter.status, await errorCode(badFilter)]).toEqual([400, "validation_failed"]);
  });

  it("lists jobs newest first with a cursor, and cancels: dispatch stops, unused credits return", async () => {
    const { key, accountId } = await seedAccount(50);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(((await (await createJob(key, `u${i}@x.test\nv${i}@x.test\n`, "text/plain")).json()) as JobView).id);
    const page1 = (await (await call("/api/v1/jobs?limit=2", { key })).json()) as { data: JobView[]; next_cursor: string };
    expect(page1.data.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    const page2 = (await (await call(`/api/v1/jobs?limit=2&cursor=${page1.next_cursor}`, { key })).json()) as { data: JobView[]; next_cursor: string | null };
    expect([page2.data.map((j) => j.id), page2.next_cursor]).toEqual([[ids[0]], null]);

    const canceled = await call(`/api/v1/jobs/${ids[0]}`, { method: "DELETE", key });
    expect(await canceled.json()).toMatchObject({ status: "canceled" });
    const left = await db().select().from(batches).where(eq(batches.jobId, ids[0]!));
    expect(left.every((b) => b.status === "canceled")).toBe(true);
    const [acc] = await db().select().from(accounts).where(eq(accounts.id, accountId));
    expect(acc!.creditBalance).toBe(50 - 4); // two jobs of two still reserved; the canceled one refunded
    const again = await call(`/api/v1/jobs/${ids[0]}`, { method: "DELETE", key });
    expect(again.status).toBe(200);
    const [acc2] = await db().select().from(accounts).where(eq(accounts.id, accountId));
    expect(acc2!.creditBalance).toBe(46);
  });

  it("deletes a job and its results with purge=true, canceling it first when it runs; another account cannot", async () => {
    const { key, accountId } = await seedAccount(50);
    const running = (await (await createJob(key, "a@x.test\nb@x.test\nbad@@x.test\n", "text/plain")).json()) as JobView;
    const other = await seedAccount();
    const refused = await call(`/api/v1/jobs/${running.id}?purge=true`, { method: "DELETE", key: other.key });
    expect([refused.status, await errorCode(refused)]).toEqual([404, "not_found"]);
    const gone = await call(`/api/v1/jobs/${running.id}?purge=true`, { method: "DELETE", key });
    expect(gone.status).toBe(204);
    expect((await call(`/api/v1/jobs/${running.id}`, { key })).status).toBe(404);
    expect((await call(`/api/v1/jobs/${running.id}/results`, { key })).status).toBe(404);
    // Canceled before it went: the two unverified credits came back (the bad address was answered).
    const [acc] = await db().select().from(accounts).where(eq(accounts.id, accountId));
    expect(acc!.creditBalance).toBe(50 - 1);
    const invalid = await call(`/api/v1/jobs/${running.id}?purge=yes`, { method: "DELETE", key });
    expect([invalid.status, await errorCode(invalid)]).toEqual([400, "validation_failed"]);
  });
});

describe("tenant isolation", () => {
  it("another account's key cannot read, export, cancel, list or watch a job", async () => {
    const owner = await seedAccount();
    const other = await seedAccount();
    const job = (await (await createJob(owner.key, "a@x.test\n", "text/plain")).json()) as JobView;
    for (const [path, method] of [[`/api/v1/jobs/${job.id}`, "GET"], [`/api/v1/jobs/${job.id}/results`, "GET"], [`/api/v1/jobs/${job.id}`, "DELETE"], [`/api/v1/jobs/${job.id}/live-token`, "POST"]] as const) {
      const res = await call(path, { method, key: other.key });
      expect([path, method, res.status, await errorCode(res)]).toEqual([path, method, 404, "not_found"]);
    }
    const list = (await (await call("/api/v1/jobs", { key: other.key })).json()) as { data: JobView[] };
    expect(list.data.map((j) => j.id)).not.toContain(job.id);
    const ws = await call(`/ws/jobs/${job.id}`, { key: other.key, headers: { upgrade: "websocket" } });
    expect(ws.status).toBe(404);
    const token = (await (await call(`/api/v1/jobs/${job.id}/live-token`, { method: "POST", key: owner.key })).json()) as { token: string };
    const otherJob = (await (await createJob(other.key, "b@x.test\n", "text/plain")).json()) as JobView;
    const reused = await call(`/ws/jobs/${otherJob.id}?token=${encodeURIComponent(token.token)}`, { headers: { upgrade: "websocket" } });
    expect([reused.status, await errorCode(reused)]).toEqual([401, "unauthorized"]);
    const [still] = await db().select().from(jobs).where(eq(jobs.id, job.id));
    expect(still!.status).toBe("queued");
  });
});

describe("live progress", () => {
  it("a live token opens the job's socket: snapshot first, then completed", async () => {
    const { key } = await seedAccount();
    const job = (await (await createJob(key, "a@x.test\nb@x.test\n", "text/plain")).json()) as JobView;
    const minted = (await (await call(`/api/v1/jobs/${job.id}/live-token`, { method: "POST", key })).json()) as { token: string; url: string };
    expect(minted.url).toContain(`/ws/jobs/${job.id}?token=`);
    const res = await call(`/ws/jobs/${job.id}?token=${encodeURIComponent(minted.token)}`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const messages: LiveMessage[] = [];
    const completed = new Promise<void>((resolve) =>
      ws.addEventListener("message", (e) => {
        const m = JSON.parse(e.data as string) as LiveMessage;
        messages.push(m);
        if (m.type === "completed") resolve();
      }),
    );
    ws.accept();
    await answerAll(job.id);
    await completed;
    expect(messages[0]).toMatchObject({ type: "snapshot", job: { id: job.id, unique: 2 } });
    expect(messages.at(-1)).toMatchObject({ type: "completed", job: { status: "completed", processed: 2 } });
    ws.close(1000, "done");
  });
});

describe("bad input", () => {
  it("answers each with its stable code and stores nothing", async () => {
    const { key, accountId } = await seedAccount(10);
    const before = await db().$count(jobs, eq(jobs.accountId, accountId));
    const cases: [string, Promise<Response>, number, string][] = [
      ["empty body", createJob(key, "", "text/plain"), 400, "empty_upload"],
      ["blank file", createJob(key, "\n \n", "text/csv"), 400, "empty_upload"],
      ["0-byte multipart file", (() => { const f = new FormData(); f.set("file", new File([], "empty.csv")); return call("/api/v1/jobs", { method: "POST", key, body: f }); })(), 400, "empty_upload"],
      ["no email column", createJob(key, "name,city\nAda,London\nBob,Paris\n", "text/csv"), 400, "no_email_column"],
      ["non-UTF-8", createJob(key, new Uint8Array([0x65, 0x6d, 0x61, 0x69, 0x6c, 0x0a, 0x6a, 0xe9, 0x40, 0x78, 0x2e, 0x74, 0x0a]), "text/csv"), 400, "not_utf8"],
      ["wrong content type", createJob(key, "<a>x@y.z</a>", "application/xml"), 415, "unsupported_media_type"],
      ["malformed JSON", createJob(key, "{\"emails\": [", "application/json"), 400, "invalid_json"],
      ["JSON of the wrong shape", createJob(key, "{\"emails\": \"a@x.test\"}", "application/json"), 400, "validation_failed"],
      ["more addresses than credits", createJob(key, Array.from({ length: 11 }, (_, i) => `p${i}@x.test`).join("\n"), "text/plain"), 402, "insufficient_credits"],
    ];
    for (const [what, pending, status, code] of cases) {
      const res = await pending;
      expect([what, res.status, await errorCode(res)]).toEqual([what, status, code]);
    }
    expect(await db().$count(jobs, eq(jobs.accountId, accountId))).toBe(before);
    const [acc] = await db().select().from(accounts).where(eq(accounts.id, accountId));
    expect(acc!.creditBalance).toBe(10);
  });

  it("refuses an upload over the limit, by its declared length or as it streams", async () => {
    const { key, accountId } = await seedAccount();
    const limit = Number(env.MXRAY_MAX_UPLOAD_BYTES);
    const declared = await call("/api/v1/jobs", { method: "POST", key, body: "a@x.test\n", headers: { "content-type": "text/plain", "content-length": String(limit + 1) } });
    expect([declared.status, await errorCode(declared)]).toEqual([413, "payload_too_large"]);
    const line = "someone.with.a.long.name@example.test\n";
    const big = line.repeat(Math.ceil((limit + 1) / line.length));
    const streamed = await createJob(key, new Blob([big]).stream(), "text/plain");
    expect([streamed.status, await errorCode(streamed)]).toEqual([413, "payload_too_large"]);
    expect(await db().$count(jobs, eq(jobs.accountId, accountId))).toBe(0);
  });

  it("an unknown job, a bad key and a revoked key get their codes", async () => {
    const { key, keyId } = await seedAccount();
    const unknown = await call("/api/v1/jobs/job_doesnotexist", { key });
    expect([unknown.status, await errorCode(unknown)]).toEqual([404, "not_found"]);
    const bad = await call("/api/v1/jobs", { key: "mx_live_00000000000000000000000000000000" });
    expect([bad.status, await errorCode(bad)]).toEqual([401, "unauthorized"]);
    const none = await call("/api/v1/jobs");
    expect([none.status, await errorCode(none)]).toEqual([401, "unauthorized"]);
    await db().update(apiKeys).set({ revokedAt: Date.now() }).where(eq(apiKeys.id, keyId));
    const revoked = await call("/api/v1/jobs", { key });
    expect([revoked.status, await errorCode(revoked)]).toEqual([401, "key_revoked"]);
  });
});

describe("rate limits and the API description", () => {
  it("limits each key per minute with RateLimit headers, then 429 with Retry-After", async () => {
    // Pinned to the middle of a window: requests straddling a minute boundary would see the
    // sliding window's weighting change under them.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-03-01T12:00:20.000Z"));
    onTestFinished(() => void vi.useRealTimers());
    const { key } = await seedAccount();
    const limit = Number(env.MXRAY_RATE_LIMIT_PER_MIN);
    let last: Response | null = null;
    for (let i = 0; i < limit; i++) {
      last = await call("/api/v1/account", { key });
      expect(last.status).toBe(200);
    }
    expect(last!.headers.get("ratelimit-limit")).toBe(String(limit));
    expect(last!.headers.get("ratelimit-remaining")).toBe("0");
    expect(last!.headers.get("ratelimit-reset")).toBe("40"); // the pinned clock reaches the limiter
    const limited = await call("/api/v1/account", { key });
    expect([limited.status, await errorCode(limited)]).toEqual([429, "rate_limited"]);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    const other = await seedAccount();
    expect((await call("/api/v1/account", { key: other.key })).status).toBe(200);
  });

  it("serves an OpenAPI 3.1 document with every operation and the job contract, and a reference page", async () => {
    const doc = (await (await call("/api/v1/openapi.json")).json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, { properties: Record<string, unknown> }> } };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/api/v1/account", "/api/v1/account/accuracy", "/api/v1/account/rules", "/api/v1/audit", "/api/v1/bounce-mailboxes", "/api/v1/bounce-mailboxes/{id}", "/api/v1/bounce-mailboxes/{id}/poll", "/api/v1/bounce-mailboxes/{id}/test",
      "/api/v1/bounce-settings", "/api/v1/bounces", "/api/v1/bounces/{id}", "/api/v1/campaigns", "/api/v1/campaigns/{id}", "/api/v1/campaigns/{id}/cancel", "/api/v1/campaigns/{id}/live-token",
      "/api/v1/campaigns/{id}/pause", "/api/v1/campaigns/{id}/recipients", "/api/v1/campaigns/{id}/resume", "/api/v1/campaigns/{id}/start",
      "/api/v1/credits/ledger", "/api/v1/decision-makers", "/api/v1/erasure", "/api/v1/find", "/api/v1/hooks", "/api/v1/hooks/samples", "/api/v1/hooks/{id}", "/api/v1/jobs", "/api/v1/jobs/{id}",
      "/api/v1/jobs/{id}/live-token", "/api/v1/jobs/{id}/results", "/api/v1/relays", "/api/v1/relays/{id}", "/api/v1/relays/{id}/test",
      "/api/v1/senders", "/api/v1/senders/{id}", "/api/v1/senders/{id}/check", "/api/v1/senders/{id}/resend-confirmation",
      "/api/v1/suppressions", "/api/v1/suppressions/export", "/api/v1/suppressions/import", "/api/v1/suppressions/{email}",
      "/api/v1/templates", "/api/v1/templates/{id}", "/api/v1/templates/{id}/preview", "/api/v1/verify", "/api/v1/webhooks", "/api/v1/webhooks/{id}",
      "/api/v1/webhooks/{id}/deliveries", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay", "/api/v1/webhooks/{id}/rotate-secret", "/api/v1/webhooks/{id}/test",
    ]);
    expect(Object.keys(doc.paths["/api/v1/jobs"]!).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/api/v1/account"]!).sort()).toEqual(["get", "patch"]);
    expect(Object.keys((doc.paths["/api/v1/jobs"]!.post as { requestBody: { content: object } }).requestBody.content).sort()).toEqual([
      "application/json", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip", "multipart/form-data", "text/csv", "text/plain",
    ]);
    expect(Object.keys(doc.components.schemas.Job!.properties)).toEqual(expect.arrayContaining(["id", "name", "status", "total", "unique", "processed", "counts", "rejects", "created_at", "finished_at"]));
    const page = await call("/api/v1/docs");
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain(`id="POST-/api/v1/jobs"`);
  });
});
