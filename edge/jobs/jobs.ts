// Jobs: streaming ingest of an upload into batches, the job's public shape, listing and cancel.
import { and, desc, eq, isNotNull, isNull } from "drizzle-orm";
import { cleanAddress } from "../../core/address.ts";
import { noRejects, type JobView } from "../../core/contracts.ts";
import type { JobKind } from "../../core/job.ts";
import type { ListRow } from "../../core/emailfile.ts";
import { newId } from "../../core/ids.ts";
import { MultipartError } from "../../core/multipart.ts";
import { BatchCutter, Ingest, PeopleIngest, type BatchItem, type IngestedAddress } from "../../core/ingest.ts";
import { invalidSyntaxResult } from "../../core/result.ts";
import { isTerminal, type JobProgress } from "../../core/live.ts";
import { batches, batchItems, jobEmails, jobs } from "../../db/schema.ts";
import { ServiceError } from "../errors.ts";
import type { EdgeDb } from "../db.ts";
import type { Services } from "../context.ts";
import { recordAudit } from "../audit/audit.ts";
import { logTopUpError, runAutoTopUp } from "../billing/billing.ts";
import { autoTopUpDueStatement, insufficientCredits, reserveStatements, settleStatements } from "../credits/credits.ts";
import { dispatchPending } from "../dispatch/dispatch.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { fanOut } from "../webhooks/webhooks.ts";

export type JobRow = typeof jobs.$inferSelect;

export function jobView(job: JobRow): JobView {
  return {
    id: job.id,
    name: job.name,
    kind: job.kind,
    status: job.status,
    total: job.total,
    unique: job.unique,
    processed: job.processed,
    counts: { deliverable: job.deliverable, undeliverable: job.undeliverable, risky: job.risky, unknown: job.unknown },
    progress: job.unique === 0 ? (job.status === "completed" ? 1 : 0) : Math.min(1, job.processed / job.unique),
    rejects: { ...noRejects(), ...(job.rejects ? (JSON.parse(job.rejects) as Partial<JobView["rejects"]>) : {}) },
    created_at: new Date(job.createdAt).toISOString(),
    finished_at: job.finishedAt === null ? null : new Date(job.finishedAt).toISOString(),
  };
}
export type { JobView };

export function jobProgress(job: JobRow): JobProgress {
  const v = jobView(job);
  return { id: v.id, status: v.status, total: v.total, unique: v.unique, processed: v.processed, counts: v.counts };
}


export async function getJob(db: EdgeDb, accountId: string, jobId: string): Promise<JobRow> {
  const [job] = await db.select().from(jobs).where(and(eq(jobs.id, jobId), eq(jobs.accountId, accountId), isNull(jobs.deletedAt)));
  // Another account's job is "not found" too: ids are never confirmed across tenants.
  if (!job) throw new ServiceError("not_found", `No job ${jobId}`);
  return job;
}

/** Newest first; the cursor is the last job's `created_at` and id. */
export async function listJobs(db: EdgeDb, accountId: string, limit: number, cursor?: string) {
  const after = decodeCursor(cursor, /job_\w+/);
  const rows = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.accountId, accountId), isNull(jobs.deletedAt), afterCursor(jobs.createdAt, jobs.id, after)))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(limit + 1);
  return toPage(rows, limit, jobView);
}

/** A person as the JSON API takes one (core/finder parsePerson's input). */
export type PersonInput = { first_name?: string | undefined; last_name?: string | undefined; full_name?: string | undefined; domain: string };
/** The columns a JSON list of people is exported with. */
const PEOPLE_JSON_HEADER = ["first_name", "last_name", "full_name", "domain"];

export type IngestSource =
  | { kind: "rows"; emails: string[] }
  | { kind: "people"; people: PersonInput[] }
  /** CSV, TSV or plain text, as bytes; decoded as strict UTF-8. */
  | { kind: "bytes"; stream: ReadableStream<Uint8Array>; /** header name or 0-based index; found by itself when absent */ column?: string | undefined };

/** Rows per INSERT of answered-at-ingest addresses (well under SQLite's variable limit). */
const INSERT_ROWS = 400;

/**
 * Streams an upload into a job: rows are parsed, normalised, deduped and pre-classified in core,
 * cut into domain-grouped batches as they come, and written with one write in flight. Only
 * batches (one row per up to MXRAY_BATCH_SIZE addresses) and addresses answered at ingest (bad
 * syntax) are written, so memory and rows written stay bounded whatever the upload's size.
 * On any failure the half-made job is removed; nothing stored before is touched.
 */
export async function ingestJob(s: Services, accountId: string, actor: string, name: string, source: IngestSource, kind: JobKind = "verify"): Promise<JobView> {
  const { db, config } = s;
  if ((kind === "find" && source.kind === "rows") || (kind === "verify" && source.kind === "people")) {
    throw new ServiceError("validation_failed", kind === "find" ? "A job of kind find takes `people`, not `emails`" : "`people` needs kind=find");
  }
  const jobId = newId("job");
  await db.insert(jobs).values({ id: jobId, accountId, name, kind, status: "ingesting" });
  try {
    const people = kind === "find" ? new PeopleIngest() : null;
    const ingest = people ?? new Ingest(source.kind === "bytes" ? { column: source.column } : {});
    const cutter = new BatchCutter<IngestedAddress>(config.MXRAY_BATCH_SIZE);
    let inflight: Promise<void> = Promise.resolve();
    let plausible = 0; // rows that at least have an "@"
    let sawText = false; // a file of blanks is empty, not "without an email column"

    let invalid: IngestedAddress[] = [];
    // A people list without a name or domain column is refused as soon as its header is read.
    const checkColumns = () => {
      if (people?.missing) {
        throw new ServiceError("validation_failed", `No ${people.missing} column was found; name the columns first_name and last_name (or full_name), and domain`);
      }
    };
    const take = async (got: IngestedAddress[], last: boolean) => {
      checkColumns();
      for (const a of got) {
        if (a.email.includes("@")) plausible++;
        if (a.domain === null) invalid.push(a);
      }
      const cut = [...cutter.push(got), ...(last ? cutter.end() : [])];
      // Bad-syntax rows wait for a full INSERT (or the end), so a write is never a few rows.
      if (cut.length === 0 && invalid.length < INSERT_ROWS && !(last && invalid.length > 0)) return;
      await inflight; // one write in flight: parsing overlaps the previous write
      inflight = writeIngested(db, jobId, accountId, cut, invalid);
      invalid = [];
    };

    if (source.kind === "people") {
      people!.header = PEOPLE_JSON_HEADER;
      const rows = source.people.map((p, index): ListRow => ({ index, email: "", fields: [p.first_name ?? "", p.last_name ?? "", p.full_name ?? "", p.domain] }));
      sawText = rows.length > 0;
      await take(ingest.pushRows(rows), true);
    } else if (source.kind === "rows") {
      const rows: ListRow[] = source.emails.map((email, index) => ({ index, email: cleanAddress(email), fields: [email] }));
      sawText = rows.some((r) => r.email !== "");
      await take(ingest.pushRows(rows.filter((r) => r.email !== "")), true);
    } else {
      const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
      const reader = source.stream.getReader();
      for (;;) {
        const { done, value } = await reader.read().catch((e: unknown) => {
          // A multipart body cut short, or a field that should have come before the file. (A body
          // over the size limit errors with its ServiceError: readUpload caps the stream.)
          throw e instanceof MultipartError ? new ServiceError("bad_request", `The multipart body could not be read: ${e.message}`) : e;
        });
        if (done) break;
        let text: string;
        try {
          text = decoder.decode(value, { stream: true });
        } catch {
          await reader.cancel();
          throw new ServiceError("not_utf8", "The file is not UTF-8 text; export it as CSV UTF-8 and upload again");
        }
        if (!sawText && text.trim() !== "") sawText = true;
        await take(ingest.push(text), false);
      }
      let tail: string;
      try {
        tail = decoder.decode();
      } catch {
        throw new ServiceError("not_utf8", "The file is not UTF-8 text; export it as CSV UTF-8 and upload again");
      }
      if (!sawText && tail.trim() !== "") sawText = true;
      await take([...ingest.push(tail), ...ingest.end()], true);
    }
    await inflight;

    if (!sawText) {
      throw new ServiceError("empty_upload", people ? "The upload holds no people" : "The upload holds no addresses");
    }
    if (people) {
      checkColumns();
      if (people.total === 0) throw new ServiceError("validation_failed", "No row names a person (first_name and last_name, or full_name) and a domain");
    } else if (ingest.total === 0 || plausible === 0) {
      throw new ServiceError("no_email_column", "No column of email addresses was found; name its header \"email\"");
    }
    const done = ingest.unique === ingest.invalid;
    const header = people?.header ?? ingest.reader.header;
    const now = Date.now();
    // One write: the credits are taken, and only then (changes() = 1) the job is queued.
    const [, , queued, , , due] = await db.$client.batch(
      [
        ...reserveStatements(accountId, actor, jobId, ingest.unique, now),
        {
          sql: `UPDATE jobs SET status = ?, total = ?, unique_count = ?, processed = ?, undeliverable = ?, columns = ?, email_column = ?,
                  rejects = ?, credits_reserved = ?, finished_at = ?
                WHERE id = ? AND changes() = 1`,
          args: [done ? "completed" : "queued", ingest.total, ingest.unique, ingest.invalid, ingest.invalid, header ? JSON.stringify(header) : null,
            people ? null : ingest.reader.column, JSON.stringify(ingest.rejects), ingest.unique, done ? now : null, jobId],
        },
        ...settleStatements(jobId, now),
        autoTopUpDueStatement(accountId),
      ],
      "write",
    );
    if (Number(due!.rows[0]!.due) > 0) s.waitUntil(runAutoTopUp(s, accountId).catch(logTopUpError(accountId)));
    if (queued!.rowsAffected === 0) {
      throw await insufficientCredits(db, accountId, ingest.unique, "This list");
    }
    const job = await getJob(db, accountId, jobId);
    await recordAudit(db, s.request, { accountId, actor, action: "job.created", target: jobId, detail: { name: job.name, unique: job.unique } });
    s.waitUntil(s.hub(jobId).update(jobProgress(job), [], job.processed));
    if (!done) s.waitUntil(dispatchPending(s));
    else s.waitUntil(fanOut(s)); // every address was invalid: the job completed in the write above
    return jobView(job);
  } catch (e) {
    await db.delete(jobs).where(eq(jobs.id, jobId)); // cascades to its batches and rows
    throw e;
  }
}

async function writeIngested(db: EdgeDb, jobId: string, accountId: string, cut: IngestedAddress[][], invalid: IngestedAddress[]) {
  const statements = [];
  for (const batch of cut) {
    const items: BatchItem[] = batch.map((a) => (a.person ? [a.key, a.email, a.rowIndex, rowJson(a.fields), a.person] : [a.key, a.email, a.rowIndex, rowJson(a.fields)]));
    const id = newId("bat");
    statements.push(db.insert(batches).values({ id, jobId, accountId, status: "pending", size: items.length }));
    statements.push(db.insert(batchItems).values({ batchId: id, items: JSON.stringify(items) }));
  }
  for (let i = 0; i < invalid.length; i += INSERT_ROWS) {
    const rows = invalid.slice(i, i + INSERT_ROWS).map((a) => {
      const result = invalidSyntaxResult(a.email);
      return { jobId, normalized: a.key, email: a.email, rowIndex: a.rowIndex, row: rowJson(a.fields), verdict: result.verdict, reason: result.reason, result: JSON.stringify(result) };
    });
    statements.push(db.insert(jobEmails).values(rows).onConflictDoNothing());
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

const rowJson = (fields: string[]) => (fields.length > 1 ? JSON.stringify(fields) : null);

/** Stops dispatch; results already in keep counting; unused credits come back. One write. */
export async function cancelJob(s: Services, accountId: string, jobId: string, actor: string): Promise<JobView> {
  const job = await getJob(s.db, accountId, jobId);
  if (job.status === "canceled") return jobView(job);
  if (job.status === "completed" || job.status === "failed") throw new ServiceError("conflict", `Job ${jobId} already ${job.status}`);
  const now = Date.now();
  const [canceled] = await s.db.$client.batch(
    [
      {
        sql: "UPDATE jobs SET status = 'canceled', finished_at = ?1 WHERE id = ?2 AND account_id = ?3 AND status IN ('ingesting', 'queued', 'running') RETURNING id",
        args: [now, jobId, accountId],
      },
      { sql: "UPDATE batches SET status = 'canceled', updated_at = ?1 WHERE job_id = ?2 AND status IN ('pending', 'dispatched')", args: [now, jobId] },
      ...settleStatements(jobId, now),
    ],
    "write",
  );
  const after = await getJob(s.db, accountId, jobId); // finished meanwhile, or canceled now
  if (canceled!.rows.length > 0) {
    await recordAudit(s.db, s.request, { accountId, actor, action: "job.canceled", target: jobId });
    s.waitUntil(s.hub(jobId).update(jobProgress(after), [], after.processed));
    s.waitUntil(fanOut(s));
  }
  return jobView(after);
}

/** Rows removed per statement when a deleted job is purged: each step holds the write lock briefly. */
export const PURGE_ROWS = 5_000;

/**
 * Removes a finished job: it disappears at once (one statement), and its results are purged in
 * small steps after the answer, so a million-row list never holds the write lock for seconds.
 * The credit ledger keeps its entries. The sweeper finishes any purge cut short.
 */
export async function deleteJob(s: Services, accountId: string, jobId: string, actor: string): Promise<void> {
  const job = await getJob(s.db, accountId, jobId);
  if (!isTerminal(job.status)) throw new ServiceError("conflict", `Job ${jobId} is ${job.status}; cancel it first`);
  await s.db.update(jobs).set({ deletedAt: Date.now() }).where(and(eq(jobs.id, jobId), eq(jobs.accountId, accountId), isNull(jobs.deletedAt)));
  await recordAudit(s.db, s.request, { accountId, actor, action: "job.deleted", target: jobId, detail: { name: job.name } });
  s.waitUntil(purgeJob(s.db, jobId));
}

async function purgeJob(db: EdgeDb, jobId: string): Promise<void> {
  for (;;) {
    const step = await db.$client.execute({ sql: "DELETE FROM job_emails WHERE rowid IN (SELECT rowid FROM job_emails WHERE job_id = ? LIMIT ?)", args: [jobId, PURGE_ROWS] });
    if (step.rowsAffected < PURGE_ROWS) break;
  }
  await db.$client.batch(
    [
      { sql: "DELETE FROM batch_items WHERE batch_id IN (SELECT id FROM batches WHERE job_id = ?)", args: [jobId] },
      { sql: "DELETE FROM batches WHERE job_id = ?", args: [jobId] },
      { sql: "DELETE FROM jobs WHERE id = ? AND deleted_at IS NOT NULL", args: [jobId] },
    ],
    "write",
  );
}

/** The sweeper's part: purges of deleted jobs that a request did not finish. Returns how many jobs. */
export async function purgeDeletedJobs(s: Services): Promise<number> {
  const deleted = await s.db.select({ id: jobs.id }).from(jobs).where(isNotNull(jobs.deletedAt)).limit(10);
  for (const { id } of deleted) await purgeJob(s.db, id);
  return deleted.length;
}
