// The XLSX export through the API inside workerd on a real sqld: the CSV's columns and values in a
// workbook, numbers of ours as numbers, the verdict filter, and another account's job not found.
// (The package's structure and escaping are tested in core/xlsxexport.test.ts.)
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { strFromU8, unzipSync } from "fflate";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import type { JobView, Result } from "../../core/contracts.ts";
import { unescapeCell } from "../../core/csvexport.ts";
import type { BatchItem } from "../../core/ingest.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { batches, batchItems } from "../../db/schema.ts";
import { call, errorCode, result, seedAccount, testDb as db } from "../testing.ts";

async function answerAll(jobId: string, verdictOf: (email: string) => Result["verdict"]) {
  const rows = await db().select({ id: batches.id, items: batchItems.items }).from(batches).innerJoin(batchItems, eq(batchItems.batchId, batches.id)).where(eq(batches.jobId, jobId));
  for (const b of rows) {
    await db().update(batches).set({ status: "dispatched" }).where(eq(batches.id, b.id));
    const items = JSON.parse(b.items) as BatchItem[];
    const results = items.map((i) => result(i[1], verdictOf(i[1]), { score: verdictOf(i[1]) === "deliverable" ? 97 : 5, smtp: { code: 250, enhanced: "2.1.5", message: "2.1.5 <ok> & fine" } }));
    const body = JSON.stringify({ probe_id: "prb_t", batch_id: b.id, job_id: jobId, seq: 0, final: true, results });
    const res = await call("/internal/probes/results", { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path: "/internal/probes/results" }, body) } });
    expect(res.status).toBe(200);
  }
}

const unescapeXml = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&#13;/g, "\r").replace(/&amp;/g, "&");

/** The first sheet's rows as [value, is a number cell] pairs, read from the package the API sent. */
async function readXlsx(res: Response): Promise<[string, boolean][][]> {
  const parts = unzipSync(new Uint8Array(await res.arrayBuffer()));
  expect(Object.keys(parts)).toEqual(expect.arrayContaining(["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"]));
  const sheet = strFromU8(parts["xl/worksheets/sheet1.xml"]!);
  return [...sheet.matchAll(/<row r="\d+">(.*?)<\/row>/g)].map((row) =>
    [...row[1]!.matchAll(/<c\/>|<c(?: s="1")?( t="inlineStr")?>(?:<is><t[^>]*>(.*?)<\/t><\/is>|<v>(.*?)<\/v>)<\/c>/g)].map((c): [string, boolean] =>
      c[0] === "<c/>" ? ["", false] : c[1] ? [unescapeXml(c[2]!), false] : [c[3]!, true],
    ),
  );
}

describe("GET /api/v1/jobs/{id}/results?format=xlsx", () => {
  it("writes the CSV's columns and values as a workbook, our numbers as numbers, formula-looking text as text", async () => {
    const { key } = await seedAccount();
    const csv = 'Name,Email,Note\n=HYPERLINK("http://x"),ada@x.test,"<b>Zoë</b> & 日本"\nBob,bob@x.test,\nEve,eve@@x.test,-1\n';
    const job = (await (await call("/api/v1/jobs", { method: "POST", key, body: csv, headers: { "content-type": "text/csv" } })).json()) as JobView;
    await answerAll(job.id, (e) => (e.startsWith("bob") ? "undeliverable" : "deliverable"));

    const res = await call(`/api/v1/jobs/${job.id}/results?format=xlsx`, { key });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${job.id}.xlsx"`);
    const rows = await readXlsx(res);
    const fromCsv = Papa.parse<string[]>((await (await call(`/api/v1/jobs/${job.id}/results?format=csv`, { key })).text()).trim()).data;
    // Same header and cells as the CSV (without its apostrophes).
    expect(rows.map((r) => r.map(([v]) => v))).toEqual(fromCsv.map((r) => r.map(unescapeCell)));
    expect(rows[0]!.map(([v]) => v)).toEqual(["Name", "Email", "Note", "verdict", "reason", "score", "catch_all", "disposable", "role", "free", "suggestion", "mx", "smtp_code", "smtp_message", "safe_to_send"]);
    expect(rows[1]!.slice(0, 6)).toEqual([['=HYPERLINK("http://x")', false], ["ada@x.test", false], ["<b>Zoë</b> & 日本", false], ["deliverable", false], ["accepted", false], ["97", true]]);
    expect(rows[1]![12]).toEqual(["250", true]); // smtp_code
    expect(rows[1]![13]).toEqual(["2.1.5 <ok> & fine", false]); // smtp_message
    expect(rows[1]!.at(-1)).toEqual(["true", false]); // safe_to_send under the default rules
    expect(rows[3]![2]).toEqual(["-1", false]); // their cells stay text, even when they look like numbers
    expect(rows).toHaveLength(4);
  });

  it("keeps only the verdicts asked for, and refuses an unknown one", async () => {
    const { key } = await seedAccount();
    const job = (await (await call("/api/v1/jobs", { method: "POST", key, body: "a@x.test\nb@x.test\nc@@x.test\n", headers: { "content-type": "text/plain" } })).json()) as JobView;
    await answerAll(job.id, (e) => (e.startsWith("a") ? "deliverable" : "undeliverable"));
    const rows = await readXlsx(await call(`/api/v1/jobs/${job.id}/results?format=xlsx&verdict=undeliverable`, { key }));
    expect(rows.map((r) => [r[0]![0], r[1]![0]])).toEqual([["email", "verdict"], ["b@x.test", "undeliverable"], ["c@@x.test", "undeliverable"]]);
    const bad = await call(`/api/v1/jobs/${job.id}/results?format=xlsx&verdict=great`, { key });
    expect([bad.status, await errorCode(bad)]).toEqual([400, "validation_failed"]);
  });

  it("answers not_found for another account's job", async () => {
    const owner = await seedAccount();
    const other = await seedAccount();
    const job = (await (await call("/api/v1/jobs", { method: "POST", key: owner.key, body: "a@x.test\n", headers: { "content-type": "text/plain" } })).json()) as JobView;
    const res = await call(`/api/v1/jobs/${job.id}/results?format=xlsx`, { key: other.key });
    expect([res.status, await errorCode(res)]).toEqual([404, "not_found"]);
  });
});
