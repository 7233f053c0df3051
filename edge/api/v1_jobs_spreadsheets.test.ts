// .xlsx and .zip uploads through POST /api/v1/jobs inside workerd (issue 25): raw and multipart,
// the job's `files`, the CSV export's original columns, and every refusal leaving nothing behind.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { JobView, Result } from "../../core/contracts.ts";
import type { BatchItem } from "../../core/ingest.ts";
import { MAX_ARCHIVE_ENTRIES, SPREADSHEET_ERROR_CODES } from "../../core/spreadsheet/limits.ts";
import { XLSX_TYPE } from "../../core/spreadsheet/sniff.ts";
import { xlsx, zipOf, type Cell } from "../../core/spreadsheet/testing.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { accounts, batches, batchItems, jobs } from "../../db/schema.ts";
import { SERVICE_ERROR_CODES } from "../errors.ts";
import { call, errorCode, result, seedAccount, testDb as db } from "../testing.ts";
import { API_ERRORS } from "./errors.ts";

const upload = (key: string, body: BodyInit, type: string | null, query = "", bindings?: Env) =>
  call(`/api/v1/jobs${query}`, { method: "POST", key, body, headers: type ? { "content-type": type } : {}, ...(bindings ? { env: bindings } : {}) });

/** Answers every batch of a job as a probe would (signed): every address deliverable. */
async function answerAll(jobId: string) {
  const rows = await db().select({ id: batches.id, items: batchItems.items }).from(batches).innerJoin(batchItems, eq(batchItems.batchId, batches.id)).where(eq(batches.jobId, jobId));
  for (const b of rows) {
    await db().update(batches).set({ status: "dispatched" }).where(eq(batches.id, b.id));
    const items = JSON.parse(b.items) as BatchItem[];
    const body = JSON.stringify({ probe_id: "prb_t", batch_id: b.id, job_id: jobId, seq: 0, final: true, results: items.map((i) => result(i[1], "deliverable" as Result["verdict"])) });
    const res = await call("/internal/probes/results", { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path: "/internal/probes/results" }, body) } });
    expect(res.status).toBe(200);
  }
}

const exported = async (key: string, jobId: string) => (await (await call(`/api/v1/jobs/${jobId}/results?format=csv`, { key })).text()).trim().split("\n");

const zero = { no_address: 0, too_long: 0, invalid_person: 0 };

/** An Excel-like workbook: a sheet of customers (a date and a percentage among the columns), one of notes, one hidden. */
const book = () =>
  xlsx({
    sheets: [
      {
        name: "Customers",
        rows: [
          ["Name", "Email", "Signed up", "Discount"],
          ["Ada", "ada@example.com", { n: 45000, s: 1 }, { n: 0.15, s: 2 }],
          ["Grace", "grace@example.org", { n: 45001, s: 1 }, { n: 0, s: 2 }],
          ["Ada again", "ADA@example.com", { n: 45002, s: 1 }, { n: 0.2, s: 2 }],
        ] as Cell[][],
      },
      { name: "Notes", rows: [["note"], ["call Ada back"]] },
      { name: "Archive", state: "hidden", rows: [["email"], ["old@example.com"]] },
    ],
    xfs: [0, 14, 9],
  });

describe("POST /api/v1/jobs with a workbook", () => {
  it("reads each sheet with an email column (raw body), accounts for every sheet, and exports the sheet's columns as shown", async () => {
    const { key } = await seedAccount();
    const res = await upload(key, book(), XLSX_TYPE, "?name=crm");
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobView;
    expect(job).toMatchObject({ name: "crm", status: "queued", total: 3, unique: 2, rejects: zero });
    expect(job.files).toEqual([
      { name: "upload.xlsx", sheet: "Customers", total: 3, unique: 2, rejects: zero },
      { name: "upload.xlsx", sheet: "Notes", total: 0, unique: 0, rejects: zero, skipped: "no_email_column" },
      { name: "upload.xlsx", sheet: "Archive", total: 0, unique: 0, rejects: zero, skipped: "hidden_sheet" },
    ]);
    expect(((await (await call(`/api/v1/jobs/${job.id}`, { key })).json()) as JobView).files).toEqual(job.files);
    await answerAll(job.id);
    const lines = await exported(key, job.id);
    expect(lines[0]).toMatch(/^Name,Email,Signed up,Discount,verdict,/);
    // The full export: every data row, the repeat with its first row's verdict (issue 26).
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 5).join(","))).toEqual(["Ada,ada@example.com,2023-03-15,15%,deliverable", "Grace,grace@example.org,2023-03-16,0%,deliverable", "Ada again,ADA@example.com,2023-03-17,20%,deliverable"]);
  });

  it("reads only the sheet named in a multipart `sheet` field, and refuses an unknown one keeping nothing", async () => {
    const { key, accountId } = await seedAccount(50);
    const form = new FormData();
    form.set("sheet", "Archive");
    form.set("file", new File([book()], "crm.xlsx"));
    const res = await upload(key, form, null);
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobView;
    expect(job).toMatchObject({ name: "crm.xlsx", total: 1, unique: 1 });
    expect(job.files!.map((f) => [f.name, f.sheet, f.skipped])).toEqual([["crm.xlsx", "Customers", "not_selected"], ["crm.xlsx", "Notes", "not_selected"], ["crm.xlsx", "Archive", undefined]]);
    const before = await db().select().from(jobs).where(eq(jobs.accountId, accountId));
    const unknown = await upload(key, book(), XLSX_TYPE, "?sheet=Leads");
    expect(unknown.status).toBe(400);
    expect(await errorCode(unknown)).toBe("sheet_not_found");
    expect(await db().select().from(jobs).where(eq(jobs.accountId, accountId))).toHaveLength(before.length);
  });
});

describe("POST /api/v1/jobs with a zip", () => {
  it("reads every list inside, dedupes across files, and exports the union of their columns", async () => {
    const { key } = await seedAccount();
    const zip = zipOf([
      { name: "march/", data: "", method: 0 },
      { name: "march/leads.csv", data: "name,email\nAda,ada@example.com\nBob,\n" },
      { name: "march/fair.tsv", data: "Email\tCompany\tname\nbob@example.org\tAcme\tBob\nADA@example.com\tBabbage & Co\tAda\n", descriptor: "signed" },
      { name: "__MACOSX/march/._leads.csv", data: "xx" },
      { name: "crm.xlsx", data: book(), method: 0 },
      { name: "readme.md", data: "# lists" },
    ]);
    const res = await upload(key, zip, "application/zip");
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobView;
    expect(job).toMatchObject({ total: 6, unique: 3, rejects: { ...zero, no_address: 1 } });
    expect(job.files!.map((f) => [f.name, f.sheet ?? null, f.total, f.unique, f.rejects.no_address, f.skipped ?? null])).toEqual([
      ["march/", null, 0, 0, 0, "directory"],
      ["march/leads.csv", null, 1, 1, 1, null],
      ["march/fair.tsv", null, 2, 1, 0, null],
      ["__MACOSX/march/._leads.csv", null, 0, 0, 0, "system_file"],
      ["crm.xlsx", "Customers", 3, 1, 0, null],
      ["crm.xlsx", "Notes", 0, 0, 0, "no_email_column"],
      ["crm.xlsx", "Archive", 0, 0, 0, "hidden_sheet"],
      ["readme.md", null, 0, 0, 0, "unsupported_type"],
    ]);
    await answerAll(job.id);
    const lines = await exported(key, job.id);
    // The first file's columns, then each new name as it came; every email column is one.
    expect(lines[0]).toMatch(/^name,email,Company,Signed up,Discount,verdict,/);
    // The full export: every data row of every file read, in the upload's order (issue 26).
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 7).join(","))).toEqual([
      "Ada,ada@example.com,,,,deliverable,accepted",
      "Bob,,,,,,no_address",
      "Bob,bob@example.org,Acme,,,deliverable,accepted",
      "Ada,ADA@example.com,Babbage & Co,,,deliverable,accepted",
      "Ada,ada@example.com,,2023-03-15,15%,deliverable,accepted",
      "Grace,grace@example.org,,2023-03-16,0%,deliverable,accepted",
      "Ada again,ADA@example.com,,2023-03-17,20%,deliverable,accepted",
    ]);
    expect(lines).toHaveLength(1 + job.total + job.rejects.no_address);
  });
});

describe("refusals: a clear code, and nothing kept", () => {
  const cfb = (stream: string) => {
    const out = new Uint8Array(2048);
    out.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    out[0x1e] = 9;
    out[0x30] = 1; // the directory at sector 1, bytes 1024–1535
    for (const [i, name] of ["Root Entry", stream].entries()) {
      for (let k = 0; k < name.length; k++) out[1024 + i * 128 + 2 * k] = name.charCodeAt(k);
      out[1024 + i * 128 + 0x40] = (name.length + 1) * 2;
    }
    return out;
  };
  const one = (rows: Cell[][], extra = {}) => xlsx({ sheets: [{ name: "S", rows }], ...extra });

  it.each([
    ["a zip bomb", () => zipOf([{ name: "bomb.csv", data: new Uint8Array(24 * 1024 * 1024), level: 1 }]), "application/zip", 422, "archive_ratio_exceeded"],
    ["too many entries", () => zipOf(Array.from({ length: MAX_ARCHIVE_ENTRIES + 1 }, (_, i) => ({ name: `f${i}.csv`, data: "email\na@example.com\n", method: 0 as const }))), "application/zip", 413, "archive_too_many_entries"],
    ["an XML bomb", () => one([["email"], ["a@example.com"]], { sheetPrefix: '<!DOCTYPE x [<!ENTITY a "aaaa">]>' }), XLSX_TYPE, 422, "xml_doctype_refused"],
    ["a password-protected entry", () => zipOf([{ name: "a.csv", data: "email\na@example.com\n", encrypted: true }]), "application/zip", 422, "archive_encrypted"],
    ["a zip cut short", () => zipOf([{ name: "a.csv", data: "email\na@example.com\n".repeat(100) }]).subarray(0, 60), "application/zip", 422, "archive_invalid"],
    ["an .xls", () => cfb("Workbook"), "application/vnd.ms-excel", 415, "spreadsheet_format_unsupported"],
    ["a password-protected workbook", () => cfb("EncryptionInfo"), XLSX_TYPE, 422, "spreadsheet_encrypted"],
    ["a workbook without an email column", () => one([["note"], ["hello"]]), XLSX_TYPE, 400, "no_email_column"],
    ["an archive with no list", () => zipOf([{ name: "a.pdf", data: "%PDF" }]), "application/zip", 400, "empty_upload"],
  ])("%s", async (_, body, type, status, code) => {
    const { key, accountId } = await seedAccount(1000);
    const res = await upload(key, body(), type);
    expect(res.status).toBe(status);
    expect(await errorCode(res)).toBe(code);
    expect(await db().select().from(jobs).where(eq(jobs.accountId, accountId))).toEqual([]);
    const [acc] = await db().select().from(accounts).where(eq(accounts.id, accountId));
    expect(acc!.creditBalance).toBe(1000);
  });

  it("refuses an archive that inflates past MXRAY_MAX_UNZIPPED_BYTES, and `sheet` on a CSV", async () => {
    const { key, accountId } = await seedAccount();
    const zip = zipOf([{ name: "a.csv", data: `email\n${"a@example.com\n".repeat(10_000)}` }]);
    const small = await upload(key, zip, "application/zip", "", { ...env, MXRAY_MAX_UNZIPPED_BYTES: "50000" });
    expect([small.status, await errorCode(small)]).toEqual([413, "archive_too_large"]);
    const csv = await upload(key, "email\na@example.com\n", "text/csv", "?sheet=Leads");
    expect([csv.status, await errorCode(csv)]).toEqual([400, "sheet_not_found"]);
    expect(await db().select().from(jobs).where(eq(jobs.accountId, accountId))).toEqual([]);
  });

  it("gives every refusal of core's a service code and a client-error status", () => {
    for (const code of SPREADSHEET_ERROR_CODES) {
      expect(SERVICE_ERROR_CODES).toContain(code);
      expect(API_ERRORS[code]).toBeGreaterThanOrEqual(400);
      expect(API_ERRORS[code]).toBeLessThan(500);
    }
  });

  it("shows a job's files only to its account", async () => {
    const owner = await seedAccount();
    const other = await seedAccount();
    const job = (await (await upload(owner.key, book(), XLSX_TYPE)).json()) as JobView;
    expect((await call(`/api/v1/jobs/${job.id}`, { key: other.key })).status).toBe(404);
    expect(((await (await call(`/api/v1/jobs`, { key: owner.key })).json()) as { data: JobView[] }).data[0]!.files).toHaveLength(3);
  });
});
