// What the account's rules cost a campaign's audience (issue 25): the same job of N verified rows
// (6 in 10 deliverable, 2 risky, 1 undeliverable, 1 unknown; a third at free providers, 1 in 13
// role addresses; 1 in 100 suppressed) turned into recipients by edge/campaigns/audience.ts, step
// by step as the sweeper does, under the default rules (the verdict column alone, answered by the
// (job, verdict, row_index) index) and under rules that read each row's result JSON
// (json_extract of its flags and score). Each step is one write: its time is how long the write
// lock is held. Beside it, the reads that use the same predicate over the whole job: the new
// campaign's estimate (a count) and the rules page's preview (its first 50,000 rows grouped).
//   npx tsx bench/rules/audience.ts [--rows 100000]
// On a fresh sqld of its own; nothing at 1M rows unless asked.
import { parseArgs } from "node:util";
import { newId } from "../../core/ids.ts";
import { campaignRules, DEFAULT_RULES, type Rules } from "../../core/rules.ts";
import { migrateDb } from "../../db/migrate.ts";
import { startSqld } from "../../db/sqld.ts";
import { createEdgeDb, type EdgeDb } from "../../edge/db.ts";
import { previewRules } from "../../edge/rules/preview.ts";
import { safeToSendSql } from "../../edge/rules/sql.ts";
import { removeScratch, scratchDir } from "../../e2e/scratch.ts";

// By URL: the campaign modules reach the Worker's own types (its hubs, its Env), which this
// Node-side program is not checked against; the one function used is typed here instead.
const { materializeStep } = (await import(new URL("../../edge/campaigns/audience.ts", import.meta.url).href)) as {
  materializeStep(s: { db: EdgeDb; config: { MXRAY_SEND_BATCH_SIZE: number } }, campaignId: string, now: number): Promise<{ done: boolean }>;
};

const { values } = parseArgs({ options: { rows: { type: "string", default: "100000" } } });
const N = Number(values.rows);
const SEED_STEP = 100_000;

const dir = scratchDir("bench-rules");
const sqld = await startSqld({ dataDir: dir });
await migrateDb(sqld.url);
const db = createEdgeDb({ TURSO_DATABASE_URL: sqld.url });

const accountId = newId("acc");
const jobId = newId("job");
await db.$client.batch(
  [
    { sql: "INSERT INTO accounts (id, name, kind, credit_balance) VALUES (?, 'bench', 'personal', 0)", args: [accountId] },
    { sql: "INSERT INTO jobs (id, account_id, name, kind, status, total, unique_count, processed) VALUES (?, ?, 'bench.csv', 'verify', 'completed', ?, ?, ?)", args: [jobId, accountId, N, N, N] },
  ],
  "write",
);

const seeded = performance.now();
const verdict = "CASE WHEN i % 10 < 6 THEN 'deliverable' WHEN i % 10 < 8 THEN 'risky' WHEN i % 10 = 8 THEN 'undeliverable' ELSE 'unknown' END";
const flag = (cond: string) => `json(CASE WHEN ${cond} THEN 'true' ELSE 'false' END)`;
for (let from = 0; from < N; from += SEED_STEP) {
  await db.$client.execute({
    sql: `WITH RECURSIVE seq(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?2)
          INSERT INTO job_emails (job_id, normalized, email, row_index, row, batch_id, verdict, reason, result, created_at)
          SELECT ?3, a, a, i, json_array(a, 'Ada ' || i, 'Company ' || (i % 500)), 'bat_x', v, 'accepted',
            json_object('email', a, 'normalized', a, 'verdict', v, 'reason', 'accepted', 'catch_all', ${flag("i % 10 = 6")}, 'disposable', ${flag("i % 10 = 7")},
              'role', ${flag("i % 13 = 0")}, 'free', ${flag("i % 3 = 0")}, 'greylisted', json('false'), 'suggestion', NULL, 'score', CASE WHEN i % 10 < 6 THEN 95 - 10 * (i % 13 = 0) ELSE 40 END,
              'mx', 'mx1.d' || (i % 500) || '.test', 'smtp', json_object('code', 250, 'enhanced', '2.1.5', 'message', '2.1.5 <' || a || '>: Recipient address ok'), 'duration_ms', 812, 'retry_after', NULL), 0
          FROM (SELECT i, 'user' || i || '@d' || (i % 500) || '.test' AS a, ${verdict} AS v FROM seq)`,
    args: [from, Math.min(N, from + SEED_STEP), jobId],
  });
}
await db.$client.execute({
  sql: "INSERT INTO suppressions (account_id, email, reason, source) SELECT ?1, normalized, 'manual', 'bench' FROM job_emails WHERE job_id = ?2 AND row_index % 100 = 5",
  args: [accountId, jobId],
});
console.log(`seeded ${N.toLocaleString("en")} rows in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);

const CASES: { name: string; rules: Rules; includeRisky: boolean }[] = [
  { name: "default rules", rules: DEFAULT_RULES, includeRisky: false },
  { name: "default rules + include_risky", rules: DEFAULT_RULES, includeRisky: true },
  // The same audience as the line above, but each row's JSON read: the cost of json_extract alone.
  { name: "min_score 1 + include_risky (refuses none)", rules: { ...DEFAULT_RULES, min_score: 1 }, includeRisky: true },
  { name: "B2B: free refused", rules: { ...DEFAULT_RULES, free: "refuse" }, includeRisky: false },
  { name: "every flag and min_score 50 + include_risky", rules: { risky: "refuse", catch_all: "refuse", disposable: "refuse", role: "refuse", free: "refuse", min_score: 50 }, includeRisky: true },
];

const s = { db, config: { MXRAY_SEND_BATCH_SIZE: 200 } };
const pct = (ms: number[], q: number) => [...ms].sort((a, b) => a - b)[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
const rows: string[][] = [];
for (const c of CASES) {
  const id = newId("cmp");
  await db.$client.execute({
    sql: `INSERT INTO campaigns (id, account_id, name, job_id, sender_id, template_id, include_risky, status, consent_basis, consent_source, created_by, snapshot, started_at)
          VALUES (?1, ?2, 'bench', ?3, 'snd_x', 'tpl_x', ?4, 'sending', 'opt_in', 'bench', 'bench', ?5, ?6)`,
    args: [id, accountId, jobId, c.includeRisky ? 1 : 0, JSON.stringify({ rules: c.rules }), Date.now()],
  });
  const steps: number[] = [];
  const began = performance.now();
  for (;;) {
    const t = performance.now();
    const step = await materializeStep(s, id, Date.now());
    steps.push(performance.now() - t);
    if (step.done) break;
  }
  const total = (performance.now() - began) / 1000;
  const [counts] = (await db.$client.execute({ sql: "SELECT audience, suppressed, skipped_unverified FROM campaigns WHERE id = ?", args: [id] })).rows;
  const effective = campaignRules(c.rules, c.includeRisky);
  const t0 = performance.now();
  await db.$client.execute({ sql: `SELECT count(*) FROM job_emails e WHERE e.job_id = ? AND ${safeToSendSql(effective, "e")}`, args: [jobId] });
  const countS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await previewRules(s, { accountId, actor: "bench" }, { rules: c.rules });
  const previewS = (performance.now() - t1) / 1000;
  rows.push([
    c.name, `${counts!.audience}/${counts!.suppressed}/${counts!.skipped_unverified}`, total.toFixed(2), Math.round(N / total).toLocaleString("en"), (total * (1_000_000 / N)).toFixed(1),
    pct(steps, 0.5).toFixed(0), pct(steps, 0.99).toFixed(0), countS.toFixed(2), previewS.toFixed(2),
  ]);
}
const head = ["rules", "audience/suppressed/skipped", "materialise s", "rows/s", "at 1M s (×)", "step p50 ms", "step p99 ms", "estimate count s", "preview s"];
console.log(`\n${N.toLocaleString("en")} rows, steps of 5,000 rows (one write each)\n`);
console.log([head, ...rows].map((r) => r.join(" | ")).join("\n"));
await sqld.stop();
removeScratch(dir);
