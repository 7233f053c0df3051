// A campaign's audience: once it is sending, its job's rows become recipients in steps of a few
// thousand rows (by row_index, from materialized_through on), never in one statement over a
// million-row list. Each step is one atomic write: the campaign's counters and
// materialized_through (its guard: a step another runner already wrote changes nothing), the
// recipients (safe to send, not suppressed), their send batches and the audience count. A row is
// safe to send under the account's rules as the campaign's snapshot froze them when sending began
// (core/rules.ts, edge/rules/sql.ts), with include_risky letting risky rows through too. Every job
// row is counted once: as a recipient (audience), as suppressed, or as skipped_unverified (not safe
// to send: undeliverable, unknown, risky without include_risky or allowing rules, or refused by a
// rule; rows refused at ingest for their syntax are undeliverable too), so audience + suppressed +
// skipped_unverified = the job's unique rows once the last step has run. The suppressions table is
// only read here (edge/suppressions writes it; before each step it turns the tombstones of erased
// addresses among the step's rows back into clear entries, revealJobRows, so the check below
// honours them).
import type { InStatement } from "@libsql/client/web";
import { newId } from "../../core/ids.ts";
import { campaignRules, parseRules } from "../../core/rules.ts";
import type { Config } from "../config.ts";
import type { EdgeDb } from "../db.ts";
import type { Effects } from "../effects.ts";
import { safeToSendSql } from "../rules/sql.ts";
import { revealJobRows } from "../suppressions/suppressions.ts";
import { complete } from "./lifecycle.ts";
import { progressOf, readProgress } from "./progress.ts";

/** Job rows per step: one write of a few thousand rows holds the write lock for milliseconds. */
export const MATERIALIZE_STEP_ROWS = 5_000;
/** Steps per run (after a commit, or a sweep); the sweeper and each finished send batch go on from there. */
export const MATERIALIZE_STEPS_PER_RUN = 20;

const HOUR_MS = 3_600_000;

export interface Step {
  /** Nothing is left to do: the audience is complete, or the campaign is not sending. */
  done: boolean;
  /** Recipients this step made. */
  recipients: number;
  effects: Effects;
}

/** One step of the campaign's audience: the next `rows` job rows. */
export async function materializeStep(s: { db: EdgeDb; config: Pick<Config, "MXRAY_SEND_BATCH_SIZE"> }, campaignId: string, now = Date.now(), rows = MATERIALIZE_STEP_ROWS): Promise<Step> {
  const { db } = s;
  const read = await db.$client.execute({
    sql: "SELECT account_id, job_id, status, include_risky, json_extract(snapshot, '$.rules') AS rules, rate_per_hour, started_at, materialized, materialized_through FROM campaigns WHERE id = ?",
    args: [campaignId],
  });
  const c = read.rows[0];
  if (!c || c.status !== "sending" || Number(c.materialized) === 1) return { done: true, recipients: 0, effects: {} };
  const [accountId, jobId, prev] = [String(c.account_id), String(c.job_id), Number(c.materialized_through)];
  await revealJobRows(db, accountId, jobId, prev, rows);
  const [range, last] = await db.$client.batch(
    [
      {
        sql: "SELECT count(*) AS n, max(row_index) AS through FROM (SELECT row_index FROM job_emails WHERE job_id = ?1 AND row_index > ?2 ORDER BY row_index LIMIT ?3)",
        args: [jobId, prev, rows],
      },
      { sql: "SELECT not_before, size FROM send_batches WHERE campaign_id = ? ORDER BY not_before DESC LIMIT 1", args: [campaignId] },
    ],
    "read",
  );
  const n = Number(range!.rows[0]!.n);
  const through = n === 0 ? prev : Number(range!.rows[0]!.through);
  const isLast = n < rows;
  const size = s.config.MXRAY_SEND_BATCH_SIZE;
  const ids = Array.from({ length: Math.ceil(n / size) }, () => newId("sbt"));
  // rate_per_hour spreads the batches: each waits for the messages ahead of it, counted on from the
  // campaign's last batch (which a resume moved on by the pause), or from when sending began.
  const spacing = c.rate_per_hour === null ? 0 : HOUR_MS / Number(c.rate_per_hour);
  const previous = last!.rows[0];
  const base = previous && spacing > 0 ? Number(previous.not_before) + Math.ceil(Number(previous.size) * spacing) : Number(c.started_at ?? now);
  const sendable = safeToSendSql(campaignRules(parseRules(c.rules === null ? null : String(c.rules)), Number(c.include_risky) === 1), "e");
  const inRange = "e.job_id = ?5 AND e.row_index > ?2 AND e.row_index <= ?3";
  const suppressed = "EXISTS (SELECT 1 FROM suppressions x WHERE x.account_id = ?4 AND x.email = e.normalized)";
  const statements: InStatement[] = [
    {
      // The guard: only from where this step read, while sending. Rows not sent to are counted here.
      sql: `UPDATE campaigns SET materialized_through = ?3, materialized = ?6,
              suppressed = suppressed + (SELECT count(*) FROM job_emails e WHERE ${inRange} AND ${sendable} AND ${suppressed}),
              skipped_unverified = skipped_unverified + (SELECT count(*) FROM job_emails e WHERE ${inRange} AND NOT ${sendable})
            WHERE id = ?1 AND materialized_through = ?2 AND materialized = 0 AND status = 'sending' AND account_id = ?4`,
      args: [campaignId, prev, through, accountId, jobId, isLast ? 1 : 0],
    },
    {
      // Only if the guard moved (changes() is still its count while this runs). Groups of `size` in
      // row order share a send batch id.
      sql: `INSERT INTO campaign_recipients (campaign_id, normalized, email, row_index, status, batch_id, updated_at)
            SELECT ?1, e.normalized, e.email, e.row_index, 'queued',
              json_extract(?6, '$[' || ((row_number() OVER (ORDER BY e.row_index) - 1) / CAST(?7 AS INTEGER)) || ']'), ?8
            FROM job_emails e
            WHERE changes() = 1 AND ${inRange} AND ${sendable} AND NOT ${suppressed}
            ORDER BY e.row_index`,
      args: [campaignId, prev, through, accountId, jobId, JSON.stringify(ids), size, now],
    },
    { sql: "UPDATE campaigns SET audience = audience + changes() WHERE id = ?", args: [campaignId] },
    {
      // A batch per group made above; ids of groups that stayed empty make none.
      sql: `INSERT INTO send_batches (id, campaign_id, account_id, status, size, not_before, created_at, updated_at)
            SELECT j.value, ?1, ?2, 'pending', count(*), ?3 + CAST(j.key * ?4 AS INTEGER), ?5, ?5
            FROM json_each(?6) j JOIN campaign_recipients r ON r.batch_id = j.value
            GROUP BY j.key, j.value ORDER BY j.key`,
      args: [campaignId, accountId, base, size * spacing, now, JSON.stringify(ids)],
    },
  ];
  // The last step may leave nothing to send (every row skipped or suppressed): it completes then.
  const ending = isLast ? complete(campaignId, now) : null;
  // Last, the campaign as the step left it, for its hub.
  const results = await db.$client.batch([...statements, ...(ending?.statements ?? []), readProgress(campaignId)], "write");
  const moved = results[0]!.rowsAffected > 0;
  const recipients = results[1]!.rowsAffected;
  const ended = ending?.read(results.slice(statements.length, -1)) ?? { moved: false, effects: {} };
  const told = moved ? { campaign: progressOf(results.at(-1)!.rows[0]) } : {};
  // A step that did not move was written by another runner: read again and go on.
  return { done: moved && isLast, recipients, effects: { ...ended.effects, ...told, ...(recipients > 0 ? { sendDispatch: true } : {}) } };
}

/** Up to `steps` steps of the campaign's audience; what follows them (dispatch, a completion's event, the hub's news of the last step) comes back as effects. */
export async function materializeCampaign(s: { db: EdgeDb; config: Pick<Config, "MXRAY_SEND_BATCH_SIZE"> }, campaignId: string, steps = MATERIALIZE_STEPS_PER_RUN, now?: number): Promise<Effects> {
  const effects: Effects = {};
  for (let i = 0; i < steps; i++) {
    const step = await materializeStep(s, campaignId, now ?? Date.now());
    if (step.effects.sendDispatch) effects.sendDispatch = true;
    if (step.effects.webhooks) effects.webhooks = true;
    if (step.effects.campaign) effects.campaign = step.effects.campaign;
    if (step.done) break;
  }
  return effects;
}
