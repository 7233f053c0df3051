// What the full export holds while it streams (issue 26's open question: workerd's RSS rose with
// the export's size in bench:soak, and a deployed Worker has 128 MB). The edge's own export code
// (edge/jobs/export.ts) streams a seeded job from a real sqld here, under Node, and the live JS
// heap is read after a forced full GC as the file goes out: if the export kept what it sent, the
// live heap would grow with the rows; if it stays flat, what workerd showed was garbage not yet
// collected (local workerd has no 128 MB limit, so it collects lazily). Printed beside the
// Worker's memory limit and beside the file's size, which is what an export that builds the file
// before sending it would hold.
//   npm run bench:export [-- --rows 1000000 --formats csv,jsonl,json,xlsx]
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { eq } from "drizzle-orm";
import { newId } from "../../core/ids.ts";
import { migrateDb } from "../../db/migrate.ts";
import { jobs } from "../../db/schema.ts";
import { startSqld } from "../../db/sqld.ts";
import { scratchDir } from "../../e2e/scratch.ts";
import { createEdgeDb, type EdgeDb } from "../../edge/db.ts";

type ExportFormat = "csv" | "json" | "jsonl" | "xlsx";
// Imported by a computed name, as client/document.ts does: edge/jobs/export.ts is typechecked with
// workerd's types (edge/tsconfig.json), which this Node config cannot load. It reads only `db`.
const { EXPORT_FORMATS, exportResults } = (await import(new URL("../../edge/jobs/export.ts", import.meta.url).href)) as {
  EXPORT_FORMATS: readonly ExportFormat[];
  exportResults(s: { db: EdgeDb }, input: { job: typeof jobs.$inferSelect; format: ExportFormat; verdicts: null }): ReadableStream<Uint8Array>;
};

const { values } = parseArgs({ options: { rows: { type: "string", default: "1000000" }, formats: { type: "string", default: "csv,jsonl" } } });
const ROWS = Number(values.rows);
const FORMATS = values.formats.split(",") as ExportFormat[];
for (const f of FORMATS) if (!EXPORT_FORMATS.includes(f)) throw new Error(`--formats: ${f} is not one of ${EXPORT_FORMATS.join(", ")}`);
const WORKER_LIMIT_MB = 128;
// A heap reading after a full GC every this many bytes sent.
const SAMPLE_BYTES = 4 * 1024 * 1024;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const liveMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const sqld = await startSqld({ dataDir: scratchDir("bench-export") });
try {
  await migrateDb(sqld.url);
  const db = createEdgeDb({ TURSO_DATABASE_URL: sqld.url });
  const s = { db };

  // As bench:soak's list: every 50th row repeats the row before it (upper-cased), every 500th has
  // no address. Generated inside sqld, so seeding a million rows takes seconds.
  const accountId = newId("acc");
  const jobId = newId("job");
  const seedStarted = performance.now();
  const email = "'user' || i || '@d' || (i % 500) || '.test'";
  const numbers = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS - 1})`;
  await db.$client.batch(
    [
      { sql: "INSERT INTO accounts (id, name, kind, credit_balance) VALUES (?, 'bench', 'personal', 0)", args: [accountId] },
      {
        sql: `INSERT INTO jobs (id, account_id, name, status, total, unique_count, processed, undeliverable, columns, finished_at)
              VALUES (?1, ?2, 'bench', 'completed', ?3, ?4, ?4, ?4, '["name","email","note"]', 0)`,
        args: [jobId, accountId, ROWS, ROWS - Math.floor(ROWS / 50)],
      },
      {
        sql: `${numbers}
              INSERT INTO job_emails (job_id, normalized, email, row_index, row, batch_id, verdict, reason, result, created_at)
              SELECT ?1, ${email}, ${email}, i, json_array('User ' || i, ${email}, 'x'), NULL, 'undeliverable', 'domain_not_found',
                '{"email":"' || ${email} || '","normalized":"' || ${email} || '","verdict":"undeliverable","reason":"domain_not_found",' ||
                '"catch_all":null,"disposable":false,"role":false,"free":false,"greylisted":false,"suggestion":null,"score":0,' ||
                '"mx":null,"smtp":null,"duration_ms":3,"retry_after":null}', 0
              FROM n WHERE i % 50 <> 49`,
        args: [jobId],
      },
      {
        sql: `${numbers}
              INSERT INTO job_rows (job_id, row_index, normalized, reason, row)
              SELECT ?1, i,
                CASE WHEN i % 500 = 499 THEN NULL ELSE 'user' || (i - 1) || '@d' || ((i - 1) % 500) || '.test' END,
                CASE WHEN i % 500 = 499 THEN 'no_address' ELSE NULL END,
                CASE WHEN i % 500 = 499 THEN json_array('User ' || i, '', 'x') ELSE json_array('User ' || i, upper('user' || (i - 1) || '@d' || ((i - 1) % 500) || '.test'), 'x') END
              FROM n WHERE i % 50 = 49`,
        args: [jobId],
      },
    ],
    "write",
  );
  const seedS = (performance.now() - seedStarted) / 1000;
  const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId));
  if (!job) throw new Error("the seeded job is missing");

  console.log(`bench:export: ${ROWS} data rows (every 50th a repeat or a reject) seeded in ${seedS.toFixed(1)} s; the edge's export under Node on one sqld\n`);
  const rowsOf = (f: ExportFormat, lines: number) => (f === "csv" ? lines - 1 : f === "json" ? lines - 2 : lines);
  const failures: string[] = [];
  const table: string[][] = [];
  for (const format of FORMATS) {
    const before = liveMb();
    let peak = before;
    let bytes = 0;
    let lines = 0;
    let nextSample = SAMPLE_BYTES;
    let peakRss = process.memoryUsage().rss;
    const started = performance.now();
    const reader = exportResults(s, { job, format, verdicts: null }).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (format !== "xlsx") for (const b of value) if (b === 10) lines++;
      if (bytes >= nextSample) {
        nextSample += SAMPLE_BYTES;
        peak = Math.max(peak, liveMb());
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const after = liveMb();
    const out = format === "xlsx" ? null : rowsOf(format, lines);
    if (out !== null && out !== ROWS) failures.push(`${format}: ${out} rows out for ${ROWS} in`);
    table.push([
      format,
      out === null ? "(zip)" : `${out} / ${ROWS}`,
      `${seconds.toFixed(1)} s, ${Math.round(ROWS / seconds)} rows/s`,
      `${before.toFixed(1)} / ${peak.toFixed(1)} / ${after.toFixed(1)} MB`,
      `${(bytes / 2 ** 20).toFixed(0)} MB`,
      `${(peakRss / 2 ** 20).toFixed(0)} MB`,
    ]);
  }
  const head = ["format", "rows out / in", "time", "live heap before / peak / after", "the file (a buffering export holds it)", "process RSS peak"];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  for (const r of [head, ...table]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
  console.log(`\nlive heap growth (peak − before) beside a Worker's memory limit of ${WORKER_LIMIT_MB} MB: ` +
    table.map((r) => { const [b, p] = r[3]!.split(" / ").map(parseFloat) as [number, number]; return `${r[0]} ${(p - b).toFixed(1)} MB`; }).join(", "));
  if (failures.length > 0) {
    console.error(`bench:export: ${failures.join("; ")}`);
    process.exitCode = 1;
  }
} finally {
  await sqld.stop();
}
