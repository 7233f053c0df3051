// Our measured accuracy on customers' mail (issue 24), computed when read: per UTC month, the
// addresses we called `deliverable` (verification jobs that finished that month), the messages
// campaigns sent (by the month they started), and the hard 5.1.x bounces that contradicted a
// `deliverable` verdict of the 30 days before (by the bounce's month; each was refunded, so they
// are the bounces with a refund_job_id). The months' counts come from different months' events,
// so the rate is the share of that month's mail that contradicted us, not a per-address truth.
// Operators see it across accounts, per probe that verified and per receiving provider (the
// registrable domain of the MX verified at, from the Public Suffix List through tldts).
import type { InValue } from "@libsql/client/web";
import { getDomain } from "tldts";
import type { Services, Who } from "../context.ts";
import type { AccountAccuracy, AccuracyMonth, OperatorAccuracy } from "./views.ts";

export const ACCURACY_MONTHS = 12;
/** Jobs finish within days of being made: their creation bounds the scan of an account's jobs (jobs_account_created). */
const JOB_SPAN_MS = 31 * 86_400_000;

/** The last `n` UTC months, oldest first ("2025-03"), and the first instant of the oldest. */
export function lastMonths(now: number, n = ACCURACY_MONTHS): { months: string[]; from: number } {
  const d = new Date(now);
  const months: string[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1));
    months.push(`${m.getUTCFullYear()}-${String(m.getUTCMonth() + 1).padStart(2, "0")}`);
  }
  return { months, from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - (n - 1), 1) };
}

const monthOf = (column: string) => `strftime('%Y-%m', ${column} / 1000, 'unixepoch')`;

/** Per month counts of one query answering (month, n), as a map. */
async function perMonth(s: Pick<Services, "db">, sql: string, args: InValue[]): Promise<Map<string, number>> {
  const { rows } = await s.db.$client.execute({ sql, args });
  return new Map(rows.map((r) => [String(r.month), Number(r.n ?? 0)]));
}

/** The three counts per month; `account` null: every account's. */
async function months(s: Pick<Services, "db">, account: string | null, now: number): Promise<AccuracyMonth[]> {
  const { months: names, from } = lastMonths(now);
  const scope = account === null ? "" : "account_id = ? AND ";
  const scoped = (...args: InValue[]) => (account === null ? args : [account, ...args]);
  const [deliverable, sent, contradicted] = await Promise.all([
    perMonth(
      s,
      `SELECT ${monthOf("finished_at")} AS month, sum(deliverable) AS n FROM jobs
       WHERE ${scope}created_at >= ? AND kind = 'verify' AND finished_at >= ? GROUP BY month`,
      scoped(from - JOB_SPAN_MS, from),
    ),
    perMonth(s, `SELECT ${monthOf("started_at")} AS month, sum(sent) AS n FROM campaigns WHERE ${scope}started_at >= ? GROUP BY month`, scoped(from)),
    perMonth(
      s,
      // A bounce is stored after it happened: its creation bounds the scan (bounces_account_created).
      `SELECT ${monthOf("occurred_at")} AS month, count(*) AS n FROM bounces
       WHERE ${scope}created_at >= ? AND occurred_at >= ? AND refund_job_id IS NOT NULL GROUP BY month`,
      scoped(from, from),
    ),
  ]);
  return names.map((month) => {
    const m = { month, deliverable: deliverable.get(month) ?? 0, sent: sent.get(month) ?? 0, contradicted: contradicted.get(month) ?? 0 };
    return { ...m, contradiction_rate: m.sent > 0 ? m.contradicted / m.sent : null };
  });
}

/** The account's last 12 months. */
export async function accountAccuracy(s: Services, who: Who, now = Date.now()): Promise<AccountAccuracy> {
  return { months: await months(s, who.accountId, now) };
}

/** Every account's last 12 months, and the contradictions of that time per verifying probe and per receiving provider, most first. */
export async function operatorAccuracy(s: Pick<Services, "db">, now = Date.now()): Promise<OperatorAccuracy> {
  const { from } = lastMonths(now);
  const contradictedBy = (column: string) =>
    s.db.$client.execute({ sql: `SELECT ${column} AS k, count(*) AS n FROM bounces WHERE occurred_at >= ? AND refund_job_id IS NOT NULL GROUP BY ${column}`, args: [from] });
  const [all, probes, mxs] = await Promise.all([months(s, null, now), contradictedBy("verified_probe_id"), contradictedBy("verified_mx")]);
  const providers = new Map<string | null, number>();
  for (const r of mxs.rows) {
    const provider = r.k === null ? null : (getDomain(String(r.k)) ?? String(r.k).toLowerCase());
    providers.set(provider, (providers.get(provider) ?? 0) + Number(r.n));
  }
  const most = <T extends { contradicted: number }>(a: T, b: T) => b.contradicted - a.contradicted;
  return {
    months: all,
    probes: probes.rows.map((r) => ({ probe_id: r.k === null ? null : String(r.k), contradicted: Number(r.n) })).sort(most),
    providers: [...providers].map(([provider, contradicted]) => ({ provider, contradicted })).sort(most),
  };
}
