// The operations console (issue 13): the probe fleet (disable, enable), jobs in flight across
// accounts with stuck ones flagged, and accounts (search, adjust credits with a reason). Platform
// operators only (MXRAY_ADMIN_EMAILS); anyone else gets a 404, as if the page did not exist.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, type MetaFunction } from "@remix-run/react";
import { adjustCredits, fleet, isOperator, jobsInFlight, searchAccounts, setProbeEnabled } from "../../edge/services/admin.ts";
import { requireViewer, type AuthArgs } from "../auth.server.ts";
import { fmt, pct } from "../components/ui.tsx";
import { refused } from "../lib/actions.server.ts";

export const meta: MetaFunction = () => [{ title: "Admin · mxray" }];

async function requireOperator(args: AuthArgs) {
  const viewer = await requireViewer(args);
  if (!isOperator(args.context.services.config, viewer.user.email)) throw new Response("Not Found", { status: 404 });
  return viewer;
}

/** "42 s", "7 min", "3 h": an age at a glance. */
function age(ms: number | null): string {
  if (ms === null) return "never";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** A table of `rows`, or a line saying there are none. */
function Listing({ label, head, rows, empty, children }: { label: string; head: React.ReactNode[]; rows: number; empty: string; children: React.ReactNode }) {
  if (rows === 0) return <p className="empty">{empty}</p>;
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead><tr>{head.map((h, i) => <th scope="col" key={i}>{h}</th>)}</tr></thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export async function loader(args: LoaderFunctionArgs) {
  await requireOperator(args);
  const { db } = args.context.services;
  const q = new URL(args.request.url).searchParams.get("q") ?? "";
  const [probes, jobs, accounts] = await Promise.all([fleet(db), jobsInFlight(db), searchAccounts(db, q)]);
  // One nonce per account form as rendered: submitting that form twice adjusts once.
  return { q, probes, jobs, accounts: accounts.map((a) => ({ ...a, nonce: crypto.randomUUID() })) };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireOperator(args);
  const { services } = args.context;
  const form = await args.request.formData();
  const intent = form.get("intent");
  try {
    if (intent === "disable-probe" || intent === "enable-probe") {
      const probeId = String(form.get("probeId") ?? "");
      await setProbeEnabled(services.db, probeId, intent === "enable-probe");
      return { ok: `${probeId} is ${intent === "enable-probe" ? "active again" : "disabled: it gets no new batches"}.` };
    }
    if (intent === "adjust") {
      const accountId = String(form.get("accountId") ?? "");
      const { applied, balance } = await adjustCredits(services.db, services.request, { id: viewer.user.id, email: viewer.user.email }, {
        accountId,
        delta: Number(form.get("delta") || NaN),
        reason: String(form.get("reason") ?? ""),
        nonce: String(form.get("nonce") ?? ""),
      });
      return { ok: `${applied ? "Adjusted" : "Already adjusted (same form)"}: ${accountId} now has ${fmt(balance)} credits.` };
    }
    return { error: { code: "bad_request", message: "Unknown request." } };
  } catch (e) {
    return refused(e);
  }
}

export default function Admin() {
  const { q, probes, jobs, accounts } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Admin</h1>
          <p>The whole platform: probes, lists in flight and accounts.</p>
        </div>
      </div>
      {answer && "error" in answer && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "ok" in answer && <div className="alert ok" role="status">{answer.ok}</div>}

      <section className="card" aria-labelledby="fleet-title">
        <h2 id="fleet-title">Fleet</h2>
        <Listing label="Probes" rows={probes.length} empty="No probe has sent a heartbeat yet."
          head={["Probe", "Status", "Version", "Heartbeat", "Batches / capacity", <span className="sr-only">Action</span>]}>
          {probes.map((p) => (
            <tr key={p.id} data-probe={p.id}>
              <td className="mono">{p.id}<div className="muted">{p.url}</div></td>
              <td>{p.status}</td>
              <td className="mono">{p.version ?? ""}</td>
              <td>{age(p.heartbeatAgeMs)} ago</td>
              <td>{fmt(p.batchesInFlight)} / {fmt(p.capacity)}</td>
              <td>
                <Form method="post">
                  <input type="hidden" name="probeId" value={p.id} />
                  {p.status === "disabled"
                    ? <button className="btn small" type="submit" name="intent" value="enable-probe" aria-label={`Enable ${p.id}`}>Enable</button>
                    : p.status !== "dead" && <button className="btn small" type="submit" name="intent" value="disable-probe" aria-label={`Disable ${p.id}`}>Disable</button>}
                </Form>
              </td>
            </tr>
          ))}
        </Listing>
      </section>

      <section className="card" aria-labelledby="jobs-title">
        <h2 id="jobs-title">Lists in flight</h2>
        <p className="muted">Stuck: none of the list's batches changed state for 10 minutes (a batch's lease is shorter).</p>
        <Listing label="Lists in flight" rows={jobs.length} empty="No list is queued or running." head={["List", "Account", "Status", "Progress", "Age", "Last move"]}>
          {jobs.map((j) => (
            <tr key={j.id} data-stuck={j.stuck}>
              <td>{j.name}<div className="mono muted">{j.id}</div></td>
              <td>{j.account}<div className="mono muted">{j.accountId}</div></td>
              <td>{j.status}{j.stuck && <strong> · stuck</strong>}</td>
              <td>{fmt(j.processed)} / {fmt(j.unique)} ({pct(j.processed, j.unique)}%)</td>
              <td>{age(j.ageMs)}</td>
              <td>{age(j.idleMs)} ago</td>
            </tr>
          ))}
        </Listing>
      </section>

      <section className="card" aria-labelledby="accounts-title">
        <h2 id="accounts-title">Accounts</h2>
        <Form method="get" className="row" aria-label="Find accounts">
          <div>
            <label htmlFor="admin-q">Name, email or id</label>
            <input id="admin-q" name="q" defaultValue={q} />
          </div>
          <button className="btn" type="submit">Search</button>
          {q && <Link to="/admin">Clear</Link>}
        </Form>
        <Listing label="Accounts" rows={accounts.length} empty="No account matches." head={["Account", "Members", "Balance", "Adjust credits"]}>
          {accounts.map((a) => (
            <tr key={a.id} data-account={a.id}>
              <td>{a.name} <span className="muted">({a.kind})</span><div className="mono muted">{a.id}</div></td>
              <td>{a.emails}</td>
              <td data-balance>{fmt(a.balance)}</td>
              <td>
                <Form method="post" className="row" key={a.nonce}>
                  <input type="hidden" name="accountId" value={a.id} />
                  <input type="hidden" name="nonce" value={a.nonce} />
                  <input name="delta" type="number" step={1} required aria-label={`Credits to add or remove for ${a.id}`} placeholder="±credits" style={{ width: "8em" }} />
                  <input name="reason" required maxLength={500} aria-label={`Reason for ${a.id}`} placeholder="Why" />
                  <button className="btn small" type="submit" name="intent" value="adjust">Adjust</button>
                </Form>
              </td>
            </tr>
          ))}
        </Listing>
      </section>
    </>
  );
}
