// Ingest: an upload streamed into a new job's batches, then queued (edge/jobs/lifecycle.ts) in
// one write with its credits' reservation. Acts for someone: `(services, who, input)`.
import { eq } from "drizzle-orm";
import { cleanAddress } from "../../core/address.ts";
import type { JobView } from "../../core/contracts.ts";
import type { ListRow } from "../../core/emailfile.ts";
import { newId } from "../../core/ids.ts";
import type { JobKind } from "../../core/enums.ts";
import { BatchCutter, Ingest, PeopleIngest, type BatchItem, type IngestedAddress, type OtherRow } from "../../core/ingest.ts";
import { ArchiveIngest } from "../../core/spreadsheet/archive.ts";
import { namedWorkbook } from "../../core/spreadsheet/sniff.ts";
import { invalidSyntaxResult } from "../../core/result.ts";
import { batches, batchItems, jobEmails, jobRows, jobs } from "../../db/schema.ts";
import { ServiceError } from "../errors.ts";
import type { EdgeDb } from "../db.ts";
import type { Services, Who } from "../context.ts";
import { afterCommit } from "../aftercommit.ts";
import { recordAudit } from "../audit/audit.ts";
import { autoTopUpDueStatement, insufficientCredits, reserveStatements } from "../credits/credits.ts";
import { create, queue, writeParts, type Ingested } from "./lifecycle.ts";
import { jobProgress, jobView, readJobStatement, viewRow } from "./view.ts";
import { openBytes, refuseCfb, refuseUnread, spreadsheetRefusals } from "./spreadsheets.ts";

/** A person as the JSON API takes one (core/finder parsePerson's input). */
export type PersonInput = { first_name?: string | undefined; last_name?: string | undefined; full_name?: string | undefined; domain: string };
/** The columns a JSON list of people is exported with. */
const PEOPLE_JSON_HEADER = ["first_name", "last_name", "full_name", "domain"];

export type IngestSource =
  | { kind: "rows"; emails: string[] }
  | { kind: "people"; people: PersonInput[] }
  /**
   * CSV, TSV or plain text (decoded as strict UTF-8), an .xlsx workbook or a .zip of lists, as
   * bytes: their first bytes say which (core/spreadsheet/sniff.ts).
   */
  | {
      kind: "bytes";
      stream: ReadableStream<Uint8Array>;
      /** header name or 0-based index; found by itself when absent */
      column?: string | undefined;
      /** A workbook's sheet to read (of every workbook, in an archive); all with an email column when absent. */
      sheet?: string | undefined;
      /** The upload's file name and content type, when it had them: they tell a workbook from an archive before its first entry does. */
      filename?: string | undefined;
      contentType?: string | undefined;
    };

/** Rows per INSERT of answered-at-ingest addresses, and of repeats and rejects (well under SQLite's variable limit). */
const INSERT_ROWS = 400;

/**
 * Streams an upload into a job: rows are parsed, normalised, deduped and pre-classified in core,
 * cut into domain-grouped batches as they come, and written with one write in flight. Only
 * batches (one row per up to MXRAY_BATCH_SIZE addresses), addresses answered at ingest (bad
 * syntax), and the rows without a result of their own (repeats and rejects, job_rows: the full
 * export gives every data row back, issue 26) are written, so memory stays bounded whatever the
 * upload's size.
 * An .xlsx or .zip is read the same way, file by file (core/spreadsheet/archive.ts), and each
 * file's counts are written with the job (jobs.files). On any failure (a refused archive
 * included) the half-made job is removed; nothing stored before is touched.
 */
export async function ingestJob(s: Services, who: Who, input: { name: string; source: IngestSource; kind?: JobKind | undefined }): Promise<JobView> {
  const { db, config } = s;
  const { accountId, actor } = who;
  const { name, source, kind = "verify" } = input;
  if ((kind === "find" && source.kind === "rows") || (kind === "verify" && source.kind === "people")) {
    throw new ServiceError("validation_failed", kind === "find" ? "A job of kind find takes `people`, not `emails`" : "`people` needs kind=find");
  }
  const jobId = newId("job");
  await db.$client.execute(create({ id: jobId, accountId, name, kind }));
  try {
    let others: OtherRow[] = [];
    const onOther = (row: OtherRow) => void others.push(row);
    const people = kind === "find" ? new PeopleIngest({ onOther }) : null;
    const ingest = people ?? new Ingest(source.kind === "bytes" ? { column: source.column, onOther } : { onOther });
    const cutter = new BatchCutter<IngestedAddress>(config.MXRAY_BATCH_SIZE);
    let inflight: Promise<void> = Promise.resolve();
    let plausible = 0; // rows that at least have an "@"
    let sawText = false; // a file of blanks is empty, not "without an email column"
    let archive: ArchiveIngest | null = null; // an .xlsx or .zip: its files are accounted for one by one

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
      // Bad-syntax rows, repeats and rejects wait for a full INSERT (or the end), so a write is never a few rows.
      const held = Math.max(invalid.length, others.length);
      if (cut.length === 0 && held < INSERT_ROWS && !(last && held > 0)) return;
      await inflight; // one write in flight: parsing overlaps the previous write
      inflight = writeIngested(db, jobId, accountId, cut, invalid, others);
      invalid = [];
      others = [];
    };

    if (source.kind === "people") {
      people!.header = PEOPLE_JSON_HEADER;
      const rows = source.people.map((p, index): ListRow => ({ index, email: "", fields: [p.first_name ?? "", p.last_name ?? "", p.full_name ?? "", p.domain] }));
      sawText = rows.length > 0;
      await take(ingest.pushRows(rows), true);
    } else if (source.kind === "rows") {
      const rows: ListRow[] = source.emails.map((email, index) => ({ index, email: cleanAddress(email), fields: [email] }));
      sawText = rows.some((r) => r.email !== "");
      await take(ingest.pushRows(rows), true);
    } else {
      const bytes = await openBytes(source.stream);
      if (bytes.kind === "cfb") throw await refuseCfb(bytes, source.filename ?? "");
      if (bytes.kind === "zip") {
        const read = new ArchiveIngest({
          kind, column: source.column, sheet: source.sheet, filename: source.filename ?? "",
          workbook: namedWorkbook(source.filename ?? "", source.contentType ?? ""),
          maxUnzippedBytes: config.MXRAY_MAX_UNZIPPED_BYTES, maxHeldBytes: config.MXRAY_MAX_UPLOAD_BYTES, onOther,
        });
        await spreadsheetRefusals(async () => {
          for await (const chunk of bytes.chunks()) for (const got of read.push(chunk)) await take(got, false);
          for (const got of read.end()) await take(got, false);
        });
        await take([], true);
        archive = read;
      } else {
        if (source.sheet !== undefined) throw new ServiceError("sheet_not_found", "`sheet` names a sheet of an .xlsx workbook; this upload is text (CSV, TSV or TXT)");
        const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
        for await (const value of bytes.chunks()) {
          let text: string;
          try {
            text = decoder.decode(value, { stream: true });
          } catch {
            await bytes.cancel();
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
    }
    await inflight;

    if (archive) {
      refuseUnread(archive, kind);
    } else if (!sawText) {
      throw new ServiceError("empty_upload", people ? "The upload holds no people" : "The upload holds no addresses");
    }
    const total = archive ? archive.files.total : ingest.total;
    if (people) {
      if (!archive) checkColumns();
      if (total === 0) throw new ServiceError("validation_failed", "No row names a person (first_name and last_name, or full_name) and a domain");
    } else if (total === 0 || plausible === 0) {
      throw new ServiceError("no_email_column", "No column of email addresses was found; name its header \"email\"");
    }
    // What was read: one list's reader, or an archive's files together.
    const got: Ingested = archive
      ? { total: archive.files.total, unique: archive.files.unique, answered: archive.files.invalid, rejects: archive.files.rejects, header: archive.files.header, column: archive.files.column, files: archive.files.files }
      : { total: ingest.total, unique: ingest.unique, answered: ingest.invalid, rejects: ingest.rejects, header: people?.header ?? ingest.reader.header, column: people ? null : ingest.reader.column, files: null };
    const now = Date.now();
    // One write: the credits are taken, and only then (changes() = 1) the job is queued.
    const reserve = reserveStatements(accountId, actor, jobId, got.unique, now);
    const queuing = queue(jobId, got, now);
    const [, queued, [read], [due]] = await writeParts(db, [reserve, queuing.statements, [readJobStatement(jobId)], [autoTopUpDueStatement(accountId)]]);
    if (Number(due!.rows[0]!.due) > 0) afterCommit(s, { topUp: accountId });
    const { moved, effects } = queuing.read(queued);
    if (!moved) {
      throw await insufficientCredits(db, accountId, got.unique, "This list");
    }
    const job = viewRow(read!.rows[0]!);
    await recordAudit(s, who, { action: "job.created", target: jobId, detail: { name: job.name, unique: job.unique } });
    // Dispatch when it waits for probes; webhooks when every address was invalid (completed at once).
    afterCommit(s, { ...effects, hub: { job: jobProgress(job), latest: [] } });
    return jobView(job);
  } catch (e) {
    await db.delete(jobs).where(eq(jobs.id, jobId)); // cascades to its batches and rows
    throw e;
  }
}

async function writeIngested(db: EdgeDb, jobId: string, accountId: string, cut: IngestedAddress[][], invalid: IngestedAddress[], others: OtherRow[]) {
  const statements = [];
  for (const batch of cut) {
    const items: BatchItem[] = batch.map((a) => (a.person ? [a.key, a.email, a.rowIndex, rowJson(a), a.person] : [a.key, a.email, a.rowIndex, rowJson(a)]));
    const id = newId("bat");
    statements.push(db.insert(batches).values({ id, jobId, accountId, status: "pending", size: items.length }));
    statements.push(db.insert(batchItems).values({ batchId: id, items: JSON.stringify(items) }));
  }
  for (let i = 0; i < invalid.length; i += INSERT_ROWS) {
    const rows = invalid.slice(i, i + INSERT_ROWS).map((a) => {
      const result = invalidSyntaxResult(a.email);
      return { jobId, normalized: a.key, email: a.email, rowIndex: a.rowIndex, row: rowJson(a), verdict: result.verdict, reason: result.reason, result: JSON.stringify(result) };
    });
    statements.push(db.insert(jobEmails).values(rows).onConflictDoNothing());
  }
  for (let i = 0; i < others.length; i += INSERT_ROWS) {
    const rows = others.slice(i, i + INSERT_ROWS).map((o) => ({ jobId, rowIndex: o.rowIndex, normalized: o.key, reason: o.reason, row: JSON.stringify(o.fields) }));
    statements.push(db.insert(jobRows).values(rows));
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

/** The row's cells, kept unless the row is the address alone, as read (a plain list's cell that needed no cleaning). */
const rowJson = (a: IngestedAddress) => (a.fields.length > 1 || a.fields[0] !== a.email ? JSON.stringify(a.fields) : null);
