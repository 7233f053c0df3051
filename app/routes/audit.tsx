// The audit log (issue 13): who did what in the account, newest first, filtered by kind of action
// or by who, in pages, with a CSV export (which keeps the action codes). Owners and admins only.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useLoaderData, type MetaFunction } from "@remix-run/react";
import { requireViewer } from "../auth.server.ts";
import { TableScroll, utc } from "../components/ui.tsx";
import { authorizeOr403, ServiceError } from "../lib/actions.server.ts";
import { actionWords, AUDIT_GROUPS, auditFilter, describe } from "../lib/audit.ts";
import { listAudit } from "../lib/audit.server.ts";
import { listMembers } from "../lib/identity.server.ts";
import { actorLabel } from "../lib/ledger.ts";

export const meta: MetaFunction = () => [{ title: "Audit log · mxray" }];

const PAGE = 25;

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "audit:view");
  const url = new URL(args.request.url);
  const filter = auditFilter(url.searchParams);
  const cursor = url.searchParams.get("cursor") ?? undefined;
  const [page, members] = await Promise.all([
    listAudit(args.context.services, viewer, { limit: PAGE, cursor, ...filter }).catch((e: unknown) => {
      if (e instanceof ServiceError && e.code === "validation_failed") throw new Response(e.message, { status: 400 });
      throw e;
    }),
    listMembers(args.context.services, viewer),
  ]);
  const emails = new Map(members.map((m) => [m.userId, m.email]));
  return {
    account: viewer.account.name,
    members: members.map((m) => ({ userId: m.userId, email: m.email })),
    filter: { action: url.searchParams.get("action") ?? "", actor: url.searchParams.get("actor") ?? "" },
    entries: page.data.map((e) => ({ ...e, who: actorLabel(e.actor, emails), what: describe(e) })),
    nextCursor: page.next_cursor,
    paged: cursor !== undefined,
  };
}

export default function Audit() {
  const { account, members, filter, entries, nextCursor, paged } = useLoaderData<typeof loader>();
  const query = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== ""));
  const withCursor = (c: string) => `/audit?${new URLSearchParams([...query, ["cursor", c]])}`;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Audit log</h1>
          <p>Who did what in {account}: sign-ins, API keys, members, lists, billing and webhooks.</p>
        </div>
        <a className="btn small" href={`/audit.csv${query.size ? `?${query}` : ""}`} download>Export CSV</a>
      </div>
      <section className="card">
        <Form method="get" className="row" aria-label="Filter the audit log">
          <div>
            <label htmlFor="audit-action">What</label>
            <select id="audit-action" name="action" defaultValue={filter.action} style={{ width: "auto" }}>
              <option value="">Everything</option>
              {AUDIT_GROUPS.map((g) => <option key={g.prefix} value={g.prefix}>{g.label}</option>)}
            </select>
          </div>
          <div>
            <label htmlFor="audit-actor">Who</label>
            <select id="audit-actor" name="actor" defaultValue={filter.actor} style={{ width: "auto" }}>
              <option value="">Anyone</option>
              {members.map((m) => <option key={m.userId} value={m.userId}>{m.email}</option>)}
              <option value="stripe">Stripe</option>
            </select>
          </div>
          <button className="btn" type="submit">Filter</button>
        </Form>
        {entries.length === 0 ? (
          <p className="empty">Nothing recorded{paged || query.size ? " here" : " yet"}.</p>
        ) : (
          <TableScroll label="Audit log">
            <table aria-label="Audit log">
              <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Target</th><th scope="col" className="hide-sm">Code</th><th scope="col" className="hide-sm">From</th></tr></thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id} data-action={e.action}>
                    <td className="muted">{utc(e.created_at)}</td>
                    {/* Words first (issue 26); the code for developers in the tooltip and the Code column. */}
                    <td><span title={e.action}>{actionWords(e.action)}</span>{e.what && <div className="muted">{e.what}</div>}</td>
                    <td>{e.who}</td>
                    <td className="mono">{e.target?.startsWith("job_") ? <Link to={`/jobs/${e.target}`}>{e.target}</Link> : e.target}</td>
                    <td className="hide-sm mono muted">{e.action}</td>
                    <td className="hide-sm muted">{e.ip ?? ""}{e.request_id && <div className="mono">{e.request_id}</div>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
        <div className="row">
          {paged && <Link to={`/audit${query.size ? `?${query}` : ""}`}>← Newest</Link>}
          {nextCursor && <Link to={withCursor(nextCursor)}>Older →</Link>}
        </div>
      </section>
    </>
  );
}
