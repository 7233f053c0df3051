// Ingest benchmark: core's streaming reader + syntax + normalise + dedupe + list flags, beside
// papaparse alone on the same file fed in the same chunks; then the same rows as one .xlsx (as
// Excel writes it: shared strings after the sheet, so the sheet is held compressed until they
// come) and as a .zip of several CSVs, through core's archive reader (issue 25).
// Then each upload as one job through the local stack (wrangler dev + sqld, a fresh one per
// format), timed from the first byte sent to the job answered as queued, with the peak resident
// memory of the Worker's process (workerd's VmHWM; a deployed Worker has 128 MB).
//   npm run bench:ingest [-- --rows 1000000] [-- --no-stack]
import Papa from "papaparse";
import { parseArgs } from "node:util";
import { Ingest } from "../../core/ingest.ts";
import { ArchiveIngest } from "../../core/spreadsheet/archive.ts";
import { XLSX_TYPE } from "../../core/spreadsheet/sniff.ts";
import { concatAll, xlsxStreamed, zipStreamed } from "../../core/spreadsheet/testing.ts";
import { startStack } from "../../e2e/stack.ts";
import { scratchDir } from "../../e2e/scratch.ts";
import { descendantPids, peakRssKb, rssKb } from "../children.ts";

const { values } = parseArgs({ options: { rows: { type: "string", default: "1000000" }, "no-stack": { type: "boolean", default: false } } });
const ROWS = Number(values.rows);
const CHUNK = 64 * 1024; // what a streamed upload typically delivers per read
const ZIP_FILES = 8;
const MAX_UPLOAD_BYTES = 80 * 1024 * 1024; // MXRAY_MAX_UPLOAD_BYTES's default

const domains = ["gmail.com", "yahoo.com", "acme-corp.test", "example.org", "mailinator.com", "bücher.de"];
// About 1% invalid, 5% duplicates (the previous row's address in capitals), some role accounts.
const header = ["first_name", "last_name", "email", "company", "city"];
const cells: string[][] = [];
let previous = "";
for (let i = 0; i < ROWS; i++) {
  const email =
    i % 20 === 0 && previous
      ? previous.toUpperCase()
      : i % 97 === 0
        ? `broken..${i}@x`
        : `${i % 53 === 0 ? "info" : "user"}.${i}@${domains[i % domains.length]}`;
  previous = email;
  cells.push([`First${i}`, `Last, ${i}`, email, `Company ${i % 1000}`, "City"]);
}
const csvLine = (r: string[]) => `${r[0]},"${r[1]}",${r[2]},${r[3]},${r[4]}`;
const csv = [header.join(","), ...cells.map(csvLine)].join("\n") + "\n";
const chunks: string[] = [];
for (let i = 0; i < csv.length; i += CHUNK) chunks.push(csv.slice(i, i + CHUNK));

const xlsx = concatAll(xlsxStreamed([header, ...cells]));
const perFile = Math.ceil(ROWS / ZIP_FILES);
const zip = concatAll(
  zipStreamed(
    Array.from({ length: ZIP_FILES }, (_, f) => ({
      name: `lists/part-${f + 1}.csv`,
      pieces: [`${header.join(",")}\n`, cells.slice(f * perFile, (f + 1) * perFile).map(csvLine).join("\n") + "\n"],
    })),
  ),
);
cells.length = 0;

/** Wall time, and CPU time (steadier when the machine is shared). */
function time(fn: () => number): { ms: number; cpuMs: number; rows: number } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const rows = fn();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, rows };
}

const papa = time(() => {
  let rows = 0;
  let rest = "";
  for (const chunk of chunks) {
    const text = rest + chunk;
    const cut = text.lastIndexOf("\n");
    rest = text.slice(cut + 1);
    rows += Papa.parse<string[]>(text.slice(0, cut + 1), { skipEmptyLines: true, delimiter: "," }).data.length;
  }
  return rows - 1; // header
});
let unique = 0;
const ours = time(() => {
  const ingest = new Ingest();
  for (const chunk of chunks) ingest.push(chunk);
  ingest.end();
  unique = ingest.unique;
  return ingest.total;
});
/** core's archive reader over the upload's bytes in CHUNK pieces, as the Worker reads a request. */
const archived = (bytes: Uint8Array, workbook: boolean) =>
  time(() => {
    const archive = new ArchiveIngest({ kind: "verify", filename: "", workbook, maxUnzippedBytes: 4 * 1024 ** 3, maxHeldBytes: MAX_UPLOAD_BYTES });
    for (let i = 0; i < bytes.length; i += CHUNK) for (const _ of archive.push(bytes.subarray(i, i + CHUNK)));
    for (const _ of archive.end());
    if (archive.files.unique !== unique) throw new Error(`${workbook ? "xlsx" : "zip"}: ${archive.files.unique} unique, the CSV ${unique}`);
    return archive.files.total;
  });
const ofXlsx = archived(xlsx, true);
const ofZip = archived(zip, false);

const mb = (n: number) => (n / 1e6).toFixed(1);
const cols = (label: string, ...cells: string[]) => console.log(`${label.padEnd(28)}${cells.map((c) => c.padStart(16)).join("")}`);
const rate = (t: { ms: number; rows: number }) => Math.round(t.rows / (t.ms / 1000)).toString();
const cpuRate = (t: { cpuMs: number; rows: number }) => Math.round(t.rows / (t.cpuMs / 1000)).toString();
console.log(`ingest benchmark: ${ROWS} rows; CSV ${mb(csv.length)} MB, XLSX ${mb(xlsx.length)} MB, ZIP of ${ZIP_FILES} CSVs ${mb(zip.length)} MB; ${CHUNK / 1024} KiB chunks\n`);
cols("core, in process", "CSV", "XLSX", `ZIP (${ZIP_FILES} CSVs)`, "papaparse alone");
cols("rows/s", rate(ours), rate(ofXlsx), rate(ofZip), rate(papa));
cols("wall time (s)", ...[ours, ofXlsx, ofZip, papa].map((t) => (t.ms / 1000).toFixed(2)));
cols("rows per CPU second", cpuRate(ours), cpuRate(ofXlsx), cpuRate(ofZip), cpuRate(papa));
console.log(`\nmxray: ${ours.rows} rows, ${unique} unique; cost of checking over parsing ${(ours.ms / papa.ms).toFixed(2)}x; target >= 100000 rows/s`);
if (xlsx.length > MAX_UPLOAD_BYTES) console.log(`note: the XLSX is ${mb(xlsx.length)} MB, over MXRAY_MAX_UPLOAD_BYTES (${mb(MAX_UPLOAD_BYTES)} MB): the stack is given a higher limit for it`);

if (!values["no-stack"]) {
  const uploads = [
    { label: "CSV", body: csv, type: "text/csv" },
    { label: "XLSX", body: xlsx, type: XLSX_TYPE },
    { label: `ZIP (${ZIP_FILES} CSVs)`, body: zip, type: "application/zip" },
  ];
  const measured: { seconds: number; total: number; before: number; peak: number }[] = [];
  for (const u of uploads) {
    // A fresh Worker per format, so its peak memory is this upload's.
    const size = typeof u.body === "string" ? Buffer.byteLength(u.body) : u.body.length;
    const stack = await startStack({ dataDir: scratchDir("bench-ingest"), probes: 0, vars: { MXRAY_MAX_UPLOAD_BYTES: String(Math.max(MAX_UPLOAD_BYTES, size + 1)) } });
    try {
      const workerd = descendantPids("workerd");
      if (workerd.length === 0) throw new Error("no workerd process found under this benchmark");
      const before = Math.max(...workerd.map(rssKb));
      const started = performance.now();
      const res = await fetch(`${stack.url}/api/v1/jobs?name=bench`, { method: "POST", body: u.body, headers: { authorization: `Bearer ${stack.devApiKey}`, "content-type": u.type } });
      const job = (await res.json()) as { status?: string; total?: number; unique?: number; error?: unknown };
      const seconds = (performance.now() - started) / 1000;
      if (!res.ok) throw new Error(`${u.label} upload refused: ${JSON.stringify(job)}`);
      if (job.unique !== unique) throw new Error(`${u.label}: ${job.unique} unique through the stack, ${unique} in process`);
      measured.push({ seconds, total: job.total!, before: before / 1024, peak: Math.max(...workerd.map(peakRssKb)) / 1024 });
    } finally {
      await stack.stop();
    }
  }
  console.log(`\n${ROWS}-row job through the local stack (wrangler dev + sqld, a fresh Worker per format), ${unique} unique each`);
  cols("", ...uploads.map((u) => u.label), "target");
  cols("upload to queued job (s)", ...measured.map((m) => m.seconds.toFixed(1)), "< 60");
  cols("rows/s", ...measured.map((m) => Math.round(m.total / m.seconds).toString()), "> 16667");
  cols("workerd RSS before (MB)", ...measured.map((m) => m.before.toFixed(0)), "");
  cols("workerd peak RSS (MB)", ...measured.map((m) => m.peak.toFixed(0)), "(whole process)");
}
