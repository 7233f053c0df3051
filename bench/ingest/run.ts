// Ingest benchmark: core's streaming reader + syntax + normalise + dedupe + list flags, beside
// papaparse alone on the same file fed in the same chunks.
// Then the same file uploaded as one job through the local stack (wrangler dev + sqld), timed
// from the first byte sent to the job answered as queued.
//   npm run bench:ingest [-- --rows 1000000] [-- --no-stack]
import Papa from "papaparse";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Ingest } from "../../core/ingest.ts";
import { startStack } from "../../e2e/stack.ts";
import { scratchDir } from "../../e2e/scratch.ts";

const { values } = parseArgs({ options: { rows: { type: "string", default: "1000000" }, "no-stack": { type: "boolean", default: false } } });
const ROWS = Number(values.rows);
const CHUNK = 64 * 1024; // what a streamed upload typically delivers per read

const domains = ["gmail.com", "yahoo.com", "acme-corp.test", "example.org", "mailinator.com", "bücher.de"];
// About 1% invalid, 5% duplicates (the previous row's address in capitals), some role accounts.
const lines = ["first_name,last_name,email,company,city"];
let previous = "";
for (let i = 0; i < ROWS; i++) {
  const email =
    i % 20 === 0 && previous
      ? previous.toUpperCase()
      : i % 97 === 0
        ? `broken..${i}@x`
        : `${i % 53 === 0 ? "info" : "user"}.${i}@${domains[i % domains.length]}`;
  previous = email;
  lines.push(`First${i},"Last, ${i}",${email},Company ${i % 1000},City`);
}
const csv = lines.join("\n") + "\n";
const chunks: string[] = [];
for (let i = 0; i < csv.length; i += CHUNK) chunks.push(csv.slice(i, i + CHUNK));

function time(fn: () => number): { ms: number; rows: number } {
  const started = performance.now();
  const rows = fn();
  return { ms: performance.now() - started, rows };
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

const mb = (csv.length / 1e6).toFixed(1);
console.log(`ingest benchmark: ${ROWS} rows, ${mb} MB, ${CHUNK / 1024} KiB chunks\n`);
console.log(`${"".padEnd(34)}${"mxray ingest".padStart(14)}${"papaparse alone".padStart(18)}`);
console.log(`${"rows/s".padEnd(34)}${Math.round(ours.rows / (ours.ms / 1000)).toString().padStart(14)}${Math.round(papa.rows / (papa.ms / 1000)).toString().padStart(18)}`);
console.log(`${"wall time (s)".padEnd(34)}${(ours.ms / 1000).toFixed(2).padStart(14)}${(papa.ms / 1000).toFixed(2).padStart(18)}`);
console.log(`\nmxray: ${ours.rows} rows, ${unique} unique; cost of checking over parsing ${(ours.ms / papa.ms).toFixed(2)}x; target >= 100000 rows/s`);

if (!values["no-stack"]) {
  const stack = await startStack({ dataDir: scratchDir("bench-ingest"), probes: 0 });
  try {
    const started = performance.now();
    const res = await fetch(`${stack.url}/api/v1/jobs?name=bench`, {
      method: "POST",
      body: csv,
      headers: { authorization: `Bearer ${stack.devApiKey}`, "content-type": "text/csv" },
    });
    const job = (await res.json()) as { status?: string; total?: number; unique?: number; error?: unknown };
    const seconds = (performance.now() - started) / 1000;
    if (!res.ok) throw new Error(`upload refused: ${JSON.stringify(job)}`);
    console.log(`\n${ROWS}-row job through the local stack (wrangler dev + sqld): ${job.total} rows, ${job.unique} unique, ${job.status}`);
    console.log(`${"".padEnd(34)}${"mxray stack".padStart(14)}${"target".padStart(18)}`);
    console.log(`${"upload to queued job (s)".padEnd(34)}${seconds.toFixed(1).padStart(14)}${"< 60".padStart(18)}`);
    console.log(`${"rows/s".padEnd(34)}${Math.round(job.total! / seconds).toString().padStart(14)}${"> 16667".padStart(18)}`);
  } finally {
    await stack.stop();
  }
}
