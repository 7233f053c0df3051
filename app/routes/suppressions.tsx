// The suppression list (issue 23): addresses no campaign of the account sends to, newest first in
// pages, filtered by reason or looked up by address; add one, remove one, import a CSV
// (suppressions.import.ts) and export the whole list (suppressions[.]csv.ts). An erased address
// stays as its hash (issue 25), shown as such.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, useRevalidator, type MetaFunction } from "@remix-run/react";
import { useState, type FormEvent } from "react";
import { SUPPRESSION_REASONS, type SuppressionReason } from "../../core/enums.ts";
import { isTombstone } from "../../core/tombstone.ts";
import { requireViewer } from "../auth.server.ts";
import { Badge, fmt, TableScroll, utc } from "../components/ui.tsx";
import { refused, ServiceError } from "../lib/actions.server.ts";
import { text } from "../lib/forms.server.ts";
import { listMembers } from "../lib/identity.server.ts";
import { actorLabel } from "../lib/ledger.ts";
import { addSuppression, listSuppressions, MAX_IMPORT_ROWS, removeSuppression } from "../lib/suppressions.server.ts";

export const meta: MetaFunction = () => [{ title: "Suppressions · mxray" }];

const PAGE = 50;

const REASON_HINT: Record<SuppressionReason, string> = {
  unsubscribed: "unsubscribed (one click, or the page)",
  bounced: "bounced hard",
  complained: "marked a message as spam",
  manual: "added by hand or imported",
};

/** Who or what put an address on the list, when it was not a member or a key. */
const SOURCE_LABEL: Record<string, string> = { recipient: "the recipient", import: "an import" };

const isReason = (v: string | null): v is SuppressionReason => (SUPPRESSION_REASONS as readonly (string | null)[]).includes(v);

type ImportCounts = { rows: number; added: number; already: number; invalid: number };
type ImportOutcome = { error: string } | { counts: ImportCounts };

/** How the last import ended, from the URL suppressions.import.ts sent the browser back to (a form posted without JavaScript). */
function importOutcome(params: URLSearchParams): ImportOutcome | null {
  const error = params.get("import_error");
  if (error) return { error };
  if (!params.get("imported")) return null;
  const n = (k: string) => Number(params.get(k) ?? 0) || 0;
  return { counts: { rows: n("rows"), added: n("added"), already: n("already"), invalid: n("invalid") } };
}

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const params = new URL(args.request.url).searchParams;
  const reason = params.get("reason");
  const email = params.get("email")?.trim() || undefined;
  const cursor = params.get("cursor") ?? undefined;
  const [page, members] = await Promise.all([
    listSuppressions(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, { limit: PAGE, cursor, reason: isReason(reason) ? reason : undefined, email }).catch((e: unknown) => {
      // A hand-edited ?cursor= is a bad link, not a failure of ours.
      if (e instanceof ServiceError && e.code === "validation_failed") throw new Response(e.message, { status: 400 });
      throw e;
    }),
    listMembers(args.context.services, viewer),
  ]);
  const emails = new Map(members.map((m) => [m.userId, m.email]));
  return {
    account: viewer.account.name,
    filter: { reason: isReason(reason) ? reason : "", email: email ?? "" },
    entries: page.data.map((e) => ({ ...e, from: SOURCE_LABEL[e.source] ?? actorLabel(e.source, emails) })),
    nextCursor: page.next_cursor,
    paged: cursor !== undefined,
    imported: importOutcome(params),
    maxImportRows: MAX_IMPORT_ROWS,
  };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const who = { accountId: viewer.account.id, actor: viewer.user.id };
  const form = await args.request.formData();
  const email = text(form, "email");
  try {
    switch (form.get("intent")) {
      case "add": {
        const reason = String(form.get("reason") ?? "manual");
        if (!isReason(reason)) throw new ServiceError("validation_failed", `reason: use one of ${SUPPRESSION_REASONS.join(", ")}`);
        const { suppression, created } = await addSuppression(services, who, { email, reason });
        return { ok: created ? `${suppression.email} is suppressed: no campaign sends to it.` : `${suppression.email} was already on the list (${suppression.reason}); it keeps its first reason.` };
      }
      case "remove":
        await removeSuppression(services, who, { email });
        return { ok: `${email} was taken off the list: campaigns may send to it again.` };
      default:
        return { error: { code: "bad_request", message: "Unknown request." } };
    }
  } catch (e) {
    return refused(e);
  }
}

/**
 * The import, sent by script: the file streams to suppressions.import.ts, the counts come back as
 * JSON and the list is read again, with no page load. Without JavaScript the form posts itself.
 */
function useImport() {
  const revalidator = useRevalidator();
  const [outcome, setOutcome] = useState<ImportOutcome | null>(null);
  const [importing, setImporting] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    setImporting(true);
    try {
      const res = await fetch(form.action, { method: "POST", body: new FormData(form), headers: { accept: "application/json" } });
      const body = (await res.json()) as { counts: ImportCounts } | { error: { message: string } };
      setOutcome("counts" in body ? body : { error: body.error.message });
      if ("counts" in body) {
        form.reset();
        revalidator.revalidate();
      }
    } catch (err) {
      setOutcome({ error: err instanceof Error ? err.message : String(err) });
    } finally {
      setImporting(false);
    }
  };
  return { outcome, importing, submit };
}

export default function Suppressions() {
  const { account, filter, entries, nextCursor, paged, imported: afterPost, maxImportRows } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const importer = useImport();
  const imported = importer.outcome ?? (answer ? null : afterPost);
  const query = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== ""));
  const withCursor = (c: string) => `/suppressions?${new URLSearchParams([...query, ["cursor", c]])}`;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Suppressions</h1>
          <p>Addresses no campaign of {account} sends to: unsubscribes, hard bounces, complaints and your own additions. An address keeps the first reason it got.</p>
        </div>
        <a className="btn small" href="/suppressions.csv" download>Export CSV</a>
      </div>
      {answer && "error" in answer && answer.error && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "ok" in answer && answer.ok && <div className="alert ok" role="status">{answer.ok}</div>}
      {imported && "error" in imported && <div className="alert error" role="alert">Nothing was imported: {imported.error}</div>}
      {imported && "counts" in imported && (
        <div className="alert ok" role="status" aria-label="Import">
          Imported {fmt(imported.counts.rows)} rows: <strong>{fmt(imported.counts.added)}</strong> added, <strong>{fmt(imported.counts.already)}</strong> already on the list,{" "}
          <strong>{fmt(imported.counts.invalid)}</strong> not an address.
        </div>
      )}
      <div className="grid">
        <Form method="post" className="card" aria-label="Add an address" key={answer && "ok" in answer ? answer.ok : "add"}>
          <h2>Add an address</h2>
          <label htmlFor="suppress-email">Email</label>
          <input id="suppress-email" name="email" type="text" inputMode="email" required maxLength={320} placeholder="someone@example.com" />
          <label htmlFor="suppress-reason" style={{ marginTop: ".6rem" }}>Reason</label>
          <select id="suppress-reason" name="reason" defaultValue="manual">
            {SUPPRESSION_REASONS.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
          <div className="row" style={{ marginTop: ".75rem" }}>
            <button className="btn primary" type="submit" name="intent" value="add" disabled={busy}>Suppress</button>
          </div>
        </Form>
        <form method="post" action="/suppressions/import" encType="multipart/form-data" onSubmit={(e) => void importer.submit(e)} className="card" aria-label="Import a CSV">
          <h2>Import a CSV</h2>
          <label htmlFor="suppress-reason-import">Reason</label>
          <select id="suppress-reason-import" name="reason" defaultValue="manual">
            {SUPPRESSION_REASONS.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
          <label htmlFor="suppress-file" style={{ marginTop: ".6rem" }}>File</label>
          <input id="suppress-file" name="file" type="file" accept=".csv,.txt,.tsv,text/csv,text/plain" required />
          <p className="muted hint">Its <code>email</code> column, or the column holding addresses; a plain list works too. Up to {fmt(maxImportRows)} rows, all at once or nothing.</p>
          <button className="btn" type="submit" disabled={importer.importing}>Import</button>
        </form>
      </div>
      <section className="card" aria-labelledby="suppressions-title">
        <h2 id="suppressions-title">The list</h2>
        <Form method="get" className="row" aria-label="Filter the suppression list">
          <div>
            <label htmlFor="filter-reason">Reason</label>
            <select id="filter-reason" name="reason" defaultValue={filter.reason} style={{ width: "auto" }}>
              <option value="">Any</option>
              {SUPPRESSION_REASONS.map((r) => <option key={r} value={r}>{REASON_HINT[r]}</option>)}
            </select>
          </div>
          <div className="grow">
            <label htmlFor="filter-email">Look up an address</label>
            <input id="filter-email" name="email" type="search" defaultValue={filter.email} placeholder="someone@example.com" />
          </div>
          <button className="btn" type="submit">Show</button>
          {query.size > 0 && <Link to="/suppressions">Clear</Link>}
        </Form>
        {entries.length === 0 ? (
          <p className="empty">{filter.email ? `${filter.email} is not on the list.` : `No suppressed addresses${paged || query.size ? " here" : " yet"}.`}</p>
        ) : (
          <TableScroll label="Suppressed addresses">
            <table aria-label="Suppressed addresses">
              <thead><tr><th scope="col">Email</th><th scope="col">Reason</th><th scope="col" className="hide-sm">From</th><th scope="col" className="hide-sm">Since</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {entries.map((s) => (
                  <tr key={s.email} data-email={s.email}>
                    <td className="mono">{isTombstone(s.email) ? <span title={s.email}>an erased address ({s.email.slice(0, 15)}…)</span> : s.email}</td>
                    <td><Badge value={s.reason} /></td>
                    <td className="hide-sm muted">{s.campaign_id ? <Link to={`/campaigns/${s.campaign_id}`}>{s.campaign_id}</Link> : s.from}</td>
                    <td className="hide-sm muted">{utc(s.created_at)}</td>
                    <td>
                      <details>
                        <summary className="btn small danger" aria-label={`Remove ${s.email}`}>Remove</summary>
                        <Form method="post">
                          <input type="hidden" name="email" value={s.email} />
                          <button className="btn small danger" type="submit" name="intent" value="remove" aria-label={`Send to ${s.email} again`}>Send to it again</button>
                        </Form>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
        <div className="row">
          {paged && <Link to={`/suppressions${query.size ? `?${query}` : ""}`}>← Newest</Link>}
          {nextCursor && <Link to={withCursor(nextCursor)}>Older →</Link>}
        </div>
      </section>
    </>
  );
}
