// Campaigns (issue 23): the account's campaigns, newest first, with their status and counts, in
// pages; "New campaign" starts the flow (campaigns.new.tsx) for those who may send.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Link, useLoaderData, type MetaFunction } from "@remix-run/react";
import { can } from "../../core/roles.ts";
import { requireViewer } from "../auth.server.ts";
import { Badge, fmt, TableScroll, utc } from "../components/ui.tsx";
import { listCampaigns, pageOr400 } from "../lib/campaigns.server.ts";

export const meta: MetaFunction = () => [{ title: "Campaigns · mxray" }];

const PAGE_SIZE = 25;

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const cursor = new URL(args.request.url).searchParams.get("cursor") || undefined;
  const page = await pageOr400(() => listCampaigns(args.context.services, viewer, { limit: PAGE_SIZE, cursor }));
  return { campaigns: page.data, next: page.next_cursor, paged: cursor !== undefined, canSend: can(viewer.account.role, "campaigns:send") };
}

export default function Campaigns() {
  const { campaigns, next, paged, canSend } = useLoaderData<typeof loader>();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Campaigns</h1>
          <p>Mail to the addresses a list verified, through your own relays, from a confirmed sender.</p>
        </div>
        {canSend && <Link className="btn primary" to="/campaigns/new">New campaign</Link>}
      </div>
      <section className="card">
        {campaigns.length === 0 ? (
          <div className="empty">
            <p>{paged ? "No more campaigns." : "No campaigns yet."}</p>
            {!paged && canSend && (
              <p>
                A campaign needs a verified list, a confirmed <Link to="/senders">sender</Link> and a <Link to="/templates">template</Link>.
              </p>
            )}
          </div>
        ) : (
          <TableScroll label="Campaigns">
            <table aria-label="Campaigns">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">Audience</th>
                  <th scope="col" className="num">Sent</th>
                  <th scope="col" className="num hide-sm">Failed</th>
                  <th scope="col" className="num hide-sm">Suppressed</th>
                  <th scope="col" className="num hide-sm">Skipped</th>
                  <th scope="col" className="num hide-sm">Unsubscribed</th>
                  <th scope="col" className="hide-sm">Created</th>
                </tr>
              </thead>
              <tbody>
                {campaigns.map((c) => (
                  <tr key={c.id}>
                    <td><Link to={`/campaigns/${c.id}`}>{c.name}</Link></td>
                    <td><Badge value={c.status} /></td>
                    <td className="num">{fmt(c.counts.audience)}</td>
                    <td className="num">{fmt(c.counts.sent)}</td>
                    <td className="num hide-sm">{fmt(c.counts.failed)}</td>
                    <td className="num hide-sm">{fmt(c.counts.suppressed)}</td>
                    <td className="num hide-sm">{fmt(c.counts.skipped_unverified)}</td>
                    <td className="num hide-sm">{fmt(c.counts.unsubscribed)}</td>
                    <td className="hide-sm">{utc(c.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
        {(paged || next) && (
          <nav className="pager" aria-label="Campaign pages">
            {paged && <Link className="btn small" to="/campaigns">Newest</Link>}
            {next ? <Link className="btn small" to={`?cursor=${encodeURIComponent(next)}`}>Older →</Link> : <span className="btn small" aria-disabled="true">Older →</span>}
          </nav>
        )}
      </section>
    </>
  );
}
