// The account's jobs: status, verdict counts and progress, refreshed while any job runs.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Link, useLoaderData, useRevalidator, type MetaFunction } from "@remix-run/react";
import { useEffect } from "react";
import { isTerminal } from "../../core/live.ts";
import { requireViewer } from "../auth.server.ts";
import { Badge, fmt, ProgressBar, TableScroll, utc, VerdictBar } from "../components/ui.tsx";
import { listJobs } from "../lib/jobs.server.ts";

export const meta: MetaFunction = () => [{ title: "Dashboard · mxray" }];

const REFRESH_MS = 3_000;


export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const { data } = await listJobs(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, { limit: 50 });
  return { account: viewer.account.name, jobs: data };
}

export default function Dashboard() {
  const { account, jobs } = useLoaderData<typeof loader>();
  const revalidator = useRevalidator();
  const active = jobs.some((j) => !isTerminal(j.status));
  useEffect(() => {
    if (!active) return;
    // Job pages are live over WebSockets; the list only needs a periodic refresh while work runs.
    const timer = setInterval(() => revalidator.state === "idle" && revalidator.revalidate(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [active, revalidator]);
  const totals = jobs.reduce((t, j) => ({ addresses: t.addresses + j.unique, deliverable: t.deliverable + j.counts.deliverable, processed: t.processed + j.processed }), { addresses: 0, deliverable: 0, processed: 0 });
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Dashboard</h1>
          <p>{account}</p>
        </div>
        <Link className="btn primary" to="/upload">Upload a list</Link>
      </div>
      <div className="stats" style={{ marginBottom: "1rem" }}>
        <div className="stat"><div className="label">Lists</div><div className="value">{fmt(jobs.length)}</div></div>
        <div className="stat"><div className="label">Addresses</div><div className="value">{fmt(totals.addresses)}</div></div>
        <div className="stat"><div className="label">Verified</div><div className="value">{fmt(totals.processed)}</div></div>
        <div className="stat"><div className="label">Deliverable</div><div className="value">{fmt(totals.deliverable)}</div></div>
      </div>
      <section className="card" aria-labelledby="jobs-title">
        <h2 id="jobs-title">Lists</h2>
        {jobs.length === 0 ? (
          <div className="empty">
            <p><strong>No lists yet.</strong></p>
            <p>Upload a CSV, TSV or text file of addresses and watch them verify live, or check one address first.</p>
            <div className="row" style={{ justifyContent: "center" }}>
              <Link className="btn primary" to="/upload">Upload a list</Link>
              <Link className="btn" to="/verify">Check one address</Link>
            </div>
          </div>
        ) : (
          <TableScroll label="Lists">
            <table aria-label="Lists">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col" style={{ minWidth: "8rem" }}>Progress</th>
                  <th scope="col" className="num">Deliverable</th>
                  <th scope="col" className="num hide-sm">Undeliverable</th>
                  <th scope="col" className="num hide-sm">Risky</th>
                  <th scope="col" className="num hide-sm">Unknown</th>
                  <th scope="col" className="hide-sm">Created</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((j) => (
                  <tr key={j.id} data-job={j.id}>
                    <td><Link to={`/jobs/${j.id}`}>{j.name}</Link><div className="muted" style={{ fontSize: ".85rem" }}>{fmt(j.unique)} addresses</div></td>
                    <td><Badge value={j.status} /></td>
                    <td>
                      <ProgressBar value={j.progress} label={`${j.name} progress`} />
                      <div style={{ marginTop: ".35rem" }}><VerdictBar counts={j.counts} /></div>
                    </td>
                    <td className="num">{fmt(j.counts.deliverable)}</td>
                    <td className="num hide-sm">{fmt(j.counts.undeliverable)}</td>
                    <td className="num hide-sm">{fmt(j.counts.risky)}</td>
                    <td className="num hide-sm">{fmt(j.counts.unknown)}</td>
                    <td className="hide-sm muted">{utc(j.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </>
  );
}
