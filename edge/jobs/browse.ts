// A job's results a page at a time, for the web app's table: filtered by verdict, reason and
// safe_to_send (the account's rules, core/rules.ts), searched by address, in upload row order,
// with each row's whole record as evidence. Acts for someone: `(services, who, input)`, every read
// scoped by who.accountId.
import { and, asc, count, desc, eq, not, sql, type SQL } from "drizzle-orm";
import { MAX_ADDRESS_OCTETS } from "../../core/address.ts";
import type { Result } from "../../core/contracts.ts";
import { RESULTS_PAGE_SIZE, type LatestRow } from "../../core/live.ts";
import { refusalOf, type Refusal } from "../../core/rules.ts";
import type { Verdict } from "../../core/verdict.ts";
import { bounces, jobEmails, jobs } from "../../db/schema.ts";
import { contradictionOf, type Contradiction } from "../bounces/views.ts";
import type { Services, Who } from "../context.ts";
import { getRules } from "../rules/rules.ts";
import { safeToSendSql } from "../rules/sql.ts";

export interface ResultQuery {
  verdict?: Verdict | undefined;
  reason?: string | undefined;
  /** Only rows the account's rules make safe to send (true) or not (false). */
  safeToSend?: boolean | undefined;
  /** Part of the address, any case. */
  q?: string | undefined;
  /** From 1. */
  page?: number | undefined;
}

export interface ResultPage {
  /**
   * `email`: the row's address as given, or in a find job its person ("Ada Lovelace <example.com>").
   * `contradicted`: the hard bounce that refunded this `deliverable` verdict (issue 24), else null.
   * `refusal`: null when the account's rules make the row safe to send, else what refused it
   * (a verification's; the page shows no rating for a find job's answers).
   */
  rows: { rowIndex: number; email: string; result: Result; contradicted: Contradiction | null; refusal: Refusal | null }[];
  total: number;
  page: number;
  pages: number;
  /** Reasons present in the job and how many each, for the filter. */
  reasons: { reason: string; count: number }[];
}

/** LIKE with the user's text taken literally. */
const contains = (q: string) => `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The job's rows, only when the job is the account's: every results read is scoped by account. */
const ofAccountJob = (accountId: string, jobId: string) =>
  and(eq(jobEmails.jobId, jobId), sql`EXISTS (SELECT 1 FROM ${jobs} WHERE ${jobs.id} = ${jobId} AND ${jobs.accountId} = ${accountId} AND ${jobs.deletedAt} IS NULL)`)!;

export async function browseResults(s: Services, who: Who, query: ResultQuery & { jobId: string }): Promise<ResultPage> {
  const { db } = s;
  const { accountId } = who;
  const { jobId } = query;
  const rules = await getRules(s, who);
  const where: SQL[] = [ofAccountJob(accountId, jobId)];
  if (query.verdict) where.push(eq(jobEmails.verdict, query.verdict));
  if (query.safeToSend !== undefined) {
    const safe = sql.raw(safeToSendSql(rules, "job_emails"));
    where.push(query.safeToSend ? safe : not(safe));
  }
  if (query.reason) where.push(eq(jobEmails.reason, query.reason));
  // No address is longer than this; a longer pattern would only make each row's LIKE dearer.
  const q = query.q?.trim().slice(0, MAX_ADDRESS_OCTETS);
  if (q) where.push(sql`${jobEmails.normalized} LIKE ${contains(q)} ESCAPE '\\'`);
  const filter = and(...where);
  const [[total], reasons] = await Promise.all([
    db.select({ n: count() }).from(jobEmails).where(filter),
    db.select({ reason: jobEmails.reason, count: count() }).from(jobEmails).where(ofAccountJob(accountId, jobId)).groupBy(jobEmails.reason).orderBy(asc(jobEmails.reason)),
  ]);
  const n = total?.n ?? 0;
  const pages = Math.max(1, Math.ceil(n / RESULTS_PAGE_SIZE));
  const page = Math.min(Math.max(1, Math.floor(query.page ?? 1)), pages);
  const rows = await db
    .select({ rowIndex: jobEmails.rowIndex, email: jobEmails.email, result: jobEmails.result, bounceId: bounces.id, bounceStatus: bounces.status, bouncedAt: bounces.occurredAt })
    .from(jobEmails)
    .leftJoin(bounces, and(eq(bounces.refundJobId, jobEmails.jobId), eq(bounces.refundNormalized, jobEmails.normalized)))
    .where(filter)
    .orderBy(asc(jobEmails.rowIndex))
    .limit(RESULTS_PAGE_SIZE)
    .offset((page - 1) * RESULTS_PAGE_SIZE);
  return {
    rows: rows.map((r) => {
      const result = JSON.parse(r.result) as Result;
      return { rowIndex: r.rowIndex, email: r.email, result, contradicted: contradictionOf(r.bounceId, r.bounceStatus, r.bouncedAt), refusal: refusalOf(result, rules) };
    }),
    total: n,
    page,
    pages,
    reasons,
  };
}

/** The newest answers of a job, newest first (the job page's "latest results" before any live message). */
export async function latestResults(s: Services, who: Who, input: { jobId: string; limit: number }): Promise<LatestRow[]> {
  const { jobId, limit } = input;
  const rows = await s.db
    .select({ result: jobEmails.result })
    .from(jobEmails)
    .where(ofAccountJob(who.accountId, jobId))
    .orderBy(desc(jobEmails.createdAt), desc(jobEmails.rowIndex))
    .limit(limit);
  return rows.map((r) => JSON.parse(r.result) as LatestRow);
}
