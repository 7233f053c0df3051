// Templates (issue 23): a message in Liquid (core/template.ts, which runs no code), with the list's
// columns as variables. The one writer of `templates`. Every save is checked, so a campaign never
// starts from a template that does not parse; a preview renders one row as the probe will.
import { and, desc, eq } from "drizzle-orm";
import { newId } from "../../core/ids.ts";
import { checkTemplate, renderMessage, TemplateError, type TemplateSource } from "../../core/template.ts";
import { jobEmails, jobs, templates } from "../../db/schema.ts";
import { recordAudit } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { afterCursor, decodeCursor, toPage } from "../paging.ts";
import { rowVariables, SAMPLE_VARIABLES } from "./variables.ts";
import { templateView, type TemplatePreview, type TemplateRow, type TemplateView } from "./views.ts";

/** Campaigns in these states no longer need their template. */
const FINISHED_CAMPAIGN_STATUSES = ["completed", "canceled", "failed"];

export interface NewTemplate {
  name: string;
  subject: string;
  html: string;
  text?: string | null | undefined;
}

export type TemplatePatch = Partial<NewTemplate>;

/** The template as stored, or template_invalid naming field, line and column ("html line 3, column 14: …"). */
function checked(name: string, source: TemplateSource): TemplateSource & { name: string } {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw new ServiceError("validation_failed", "name: not blank");
  const check = checkTemplate(source);
  if (!check.ok) throw new ServiceError("template_invalid", check.error.message, undefined, { cause: check.error });
  return { name: trimmed, ...source };
}

export async function createTemplate(s: Services, who: Who, input: NewTemplate, now = Date.now()): Promise<TemplateView> {
  const t = checked(input.name, { subject: input.subject, html: input.html, text: input.text ?? null });
  const id = newId("tpl");
  await s.db.insert(templates).values({ id, accountId: who.accountId, name: t.name, subject: t.subject, html: t.html, text: t.text, createdAt: now, updatedAt: now });
  await recordAudit(s, who, { action: "template.created", target: id, detail: { name: t.name } }, now);
  return getTemplate(s, who, id);
}

/** The account's template, or not_found (another account's id too). */
export async function templateRow(s: Services, who: Who, id: string): Promise<TemplateRow> {
  const [row] = await s.db.select().from(templates).where(and(eq(templates.id, id), eq(templates.accountId, who.accountId)));
  if (!row) throw new ServiceError("not_found", `No template ${id}`);
  return row;
}

export async function getTemplate(s: Services, who: Who, id: string): Promise<TemplateView> {
  return templateView(await templateRow(s, who, id));
}

/** Newest first, by cursor. */
export async function listTemplates(s: Services, who: Who, page: { limit: number; cursor?: string | undefined }) {
  const after = decodeCursor(page.cursor, /tpl_\w+/);
  const rows = await s.db
    .select()
    .from(templates)
    .where(and(eq(templates.accountId, who.accountId), afterCursor(templates.createdAt, templates.id, after)))
    .orderBy(desc(templates.createdAt), desc(templates.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, templateView);
}

/**
 * Changes any field (`text: null` makes the text part from the HTML again), checked as a whole.
 * A campaign already sending keeps the template as it was when it started (its snapshot).
 */
export async function updateTemplate(s: Services, who: Who, input: { id: string; patch: TemplatePatch }, now = Date.now()): Promise<TemplateView> {
  const { id, patch } = input;
  const row = await templateRow(s, who, id);
  const t = checked(patch.name ?? row.name, { subject: patch.subject ?? row.subject, html: patch.html ?? row.html, text: patch.text === undefined ? row.text : patch.text });
  await s.db
    .update(templates)
    .set({ name: t.name, subject: t.subject, html: t.html, text: t.text, updatedAt: now })
    .where(and(eq(templates.id, id), eq(templates.accountId, who.accountId)));
  await recordAudit(s, who, { action: "template.updated", target: id, detail: { fields: Object.keys(patch) } }, now);
  return getTemplate(s, who, id);
}

/** Deletes the template unless a campaign that has not finished uses it: the check is part of the delete. */
export async function deleteTemplate(s: Services, who: Who, input: { id: string }, now = Date.now()): Promise<void> {
  const { id } = input;
  const row = await templateRow(s, who, id);
  const finished = FINISHED_CAMPAIGN_STATUSES.map((st) => `'${st}'`).join(", ");
  const deleted = await s.db.$client.execute({
    sql: `DELETE FROM templates WHERE id = ?1 AND account_id = ?2
          AND NOT EXISTS (SELECT 1 FROM campaigns WHERE account_id = ?2 AND template_id = ?1 AND status NOT IN (${finished}))`,
    args: [id, who.accountId],
  });
  if (deleted.rowsAffected === 0) {
    const users = await s.db.$client.execute({
      sql: `SELECT id, status FROM campaigns WHERE account_id = ?2 AND template_id = ?1 AND status NOT IN (${finished}) ORDER BY created_at LIMIT 10`,
      args: [id, who.accountId],
    });
    if (users.rows.length === 0) throw new ServiceError("not_found", `No template ${id}`);
    const named = users.rows.map((r) => `${String(r.id)} (${String(r.status)})`).join(", ");
    throw new ServiceError("conflict", `Template ${id} is used by campaign${users.rows.length > 1 ? "s" : ""} ${named}; wait for ${users.rows.length > 1 ? "them" : "it"} to finish, or cancel ${users.rows.length > 1 ? "them" : "it"}`);
  }
  await recordAudit(s, who, { action: "template.deleted", target: id, detail: { name: row.name } }, now);
}

/** The row a preview renders: `vars` win over `job_id`; neither: a sample person. */
export interface PreviewRow {
  /** The row to render, by column: wins over job_id. */
  vars?: Record<string, string> | undefined;
  /** A job of the account whose first deliverable row is rendered. */
  job_id?: string | undefined;
}

export interface PreviewInput extends PreviewRow {
  id: string;
}

/** Where a preview's unsubscribe link points: a page that unsubscribes nobody. */
export const PREVIEW_UNSUBSCRIBE_PATH = "/u/preview";

/**
 * The message one row would get: the given variables, else the first deliverable row of the job
 * (its uploaded columns), else a sample person. Renders as the probe will (core/template.ts).
 */
export async function previewTemplate(s: Services, who: Who, input: PreviewInput): Promise<TemplatePreview> {
  const row = await templateRow(s, who, input.id);
  return previewSource(s, who, { source: { subject: row.subject, html: row.html, text: row.text }, vars: input.vars, job_id: input.job_id });
}

/**
 * A template as written, saved or not (the editor's live preview), rendered for one row as
 * previewTemplate renders a saved one. A template error is template_invalid whose cause is the
 * TemplateError (field, line, column).
 */
export async function previewSource(s: Services, who: Who, input: PreviewRow & { source: TemplateSource }): Promise<TemplatePreview> {
  const vars = input.vars ?? (input.job_id ? await firstDeliverableRow(s, who, input.job_id) : null) ?? SAMPLE_VARIABLES;
  const check = checkTemplate(input.source);
  try {
    if (!check.ok) throw check.error;
    return { ...renderMessage(input.source, vars, `${s.origin}${PREVIEW_UNSUBSCRIBE_PATH}`), variables: check.variables };
  } catch (e) {
    // A render can fail where a parse did not (a render limit, a filter given a wrong value).
    if (e instanceof TemplateError) throw new ServiceError("template_invalid", e.message, undefined, { cause: e });
    throw e;
  }
}

/** The variables of the job's first deliverable row, null when it has none yet; another account's job is not_found. */
async function firstDeliverableRow(s: Services, who: Who, jobId: string): Promise<Record<string, string> | null> {
  const [job] = await s.db.select({ columns: jobs.columns, deletedAt: jobs.deletedAt }).from(jobs).where(and(eq(jobs.id, jobId), eq(jobs.accountId, who.accountId)));
  if (!job || job.deletedAt !== null) throw new ServiceError("not_found", `No job ${jobId}`);
  const [first] = await s.db
    .select({ email: jobEmails.email, row: jobEmails.row })
    .from(jobEmails)
    .where(and(eq(jobEmails.jobId, jobId), eq(jobEmails.verdict, "deliverable")))
    .orderBy(jobEmails.rowIndex)
    .limit(1);
  if (!first) return null;
  return rowVariables(job.columns ? (JSON.parse(job.columns) as string[]) : null, first.row ? (JSON.parse(first.row) as unknown[]) : null, first.email);
}
