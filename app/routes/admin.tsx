// The operations console (issue 13): the probe fleet (health, last hour's answers; drain, disable,
// enable), jobs in flight across accounts with stuck ones flagged, retried batches, accounts
// (search, adjust credits, disable with a reason), Stripe events held for an operator, and our
// measured accuracy across accounts, per verifying probe and per receiving provider (issue 24).
// Platform operators only (MXRAY_ADMIN_EMAILS, or Clerk's public metadata); anyone else gets a
// 404, as if the page did not exist.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, type MetaFunction } from "@remix-run/react";
import { requireSignedIn, type AuthArgs } from "../auth.server.ts";
import { AccuracyTable } from "../components/accuracy.tsx";
import { fmt, pct, TableScroll } from "../components/ui.tsx";
import { refused } from "../lib/actions.server.ts";
import {
  adjustCredits, fleet, heldStripeEvents, jobsInFlight, operatorAccuracy, retriedBatches, retryStripeEvent, searchAccounts, setAccountDisabled, setProbeState,
} from "../lib/admin.server.ts";

export const meta: MetaFunction = () => [{ title: "Admin · mxray" }];

async function requireOperator(args: AuthArgs) {
  // Even while the operator's own current account is disabled.
  const viewer = await requireSignedIn(args);
  if (!viewer.operator) throw new Response("Not Found", { status: 404 });
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

/** One card of the console: a heading, what to know about it, its content. */
function Section({ id, title, note, children }: { id: string; title: string; note?: string; children: React.ReactNode }) {
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      {note && <p className="muted">{note}</p>}
      {children}
    </section>
  );
}

/** A table of `rows`, or a line saying there are none. */
function Listing({ label, head, rows, empty, children }: { label: string; head: React.ReactNode[]; rows: number; empty: string; children: React.ReactNode }) {
  if (rows === 0) return <p className="empty">{empty}</p>;
  return (
    <TableScroll label={label}>
      <table aria-label={label}>
        <thead><tr>{head.map((h, i) => <th scope="col" key={i}>{h}</th>)}</tr></thead>
        <tbody>{children}</tbody>
      </table>
    </TableScroll>
  );
}

export async function loader(args: LoaderFunctionArgs) {
  await requireOperator(args);
  const { services } = args.context;
  const q = new URL(args.request.url).searchParams.get("q") ?? "";
  const [probes, jobs, retried, accounts, held, accuracy] = await Promise.all([
    fleet(services), jobsInFlight(services), retriedBatches(services), searchAccounts(services, q), heldStripeEvents(services), operatorAccuracy(services),
  ]);
  // One nonce per account form as rendered: submitting that form twice adjusts once.
  return { q, probes, jobs, retried, held, accuracy, accounts: accounts.map((a) => ({ ...a, nonce: crypto.randomUUID() })) };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireOperator(args);
  const { services } = args.context;
  const operator = { accountId: viewer.account.id, actor: viewer.user.id, email: viewer.user.email };
  const form = await args.request.formData();
  const intent = form.get("intent");
  try {
    const probeStates = { "enable-probe": "active", "drain-probe": "drained", "disable-probe": "disabled" } as const;
    if (typeof intent === "string" && intent in probeStates) {
      const probeId = String(form.get("probeId") ?? "");
      const state = probeStates[intent as keyof typeof probeStates];
      await setProbeState(services, operator, { probeId, state });
      const said = { active: "active again", drained: "drained: no new batches; those it holds finish", disabled: "disabled: no new batches; those it held go to other probes" };
      return { ok: `${probeId} is ${said[state]}.` };
    }
    if (intent === "disable-account" || intent === "enable-account") {
      const accountId = String(form.get("accountId") ?? "");
      const disable = intent === "disable-account";
      await setAccountDisabled(services, operator, { accountId, disabled: disable, reason: String(form.get("reason") ?? "") });
      return { ok: `${accountId} is ${disable ? "disabled: its keys are refused and its lists wait" : "enabled again"}.` };
    }
    if (intent === "retry-stripe-event") {
      const eventId = String(form.get("eventId") ?? "");
      const { outcome, code } = await retryStripeEvent(services, operator, { eventId });
      return { ok: `${eventId}: ${outcome.replace("_", " ")}${code ? ` (${code})` : ""}.` };
    }
    if (intent === "adjust") {
      const accountId = String(form.get("accountId") ?? "");
      const { applied, balance } = await adjustCredits(services, operator, {
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
  const { q, probes, jobs, retried, held, accuracy, accounts } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Admin</h1>
          <p>The whole platform: probes, lists in flight, accounts, held Stripe events and our accuracy.</p>
        </div>
      </div>
      {answer && "error" in answer && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "ok" in answer && <div className="alert ok" role="status">{answer.ok}</div>}

      <Section id="fleet" title="Fleet">
        <Listing label="Probes" rows={probes.length} empty="No probe has sent a heartbeat yet."
          head={["Probe", "Status", "Version", "Heartbeat", "Batches / capacity", "Self-check", "Shared state", "Last hour", <span className="sr-only">Action</span>]}>
          {probes.map((p) => (
            <tr key={p.id} data-probe={p.id}>
              <td className="mono">{p.id}<div className="muted">{p.url}</div></td>
              <td data-probe-status={p.silent ? "silent" : p.status}>
                {p.silent ? (
                  <>
                    <strong style={{ color: "var(--undeliverable)" }} title={`status: ${p.status}; no heartbeat for longer than the bound`}>silent</strong>
                    <div className="muted">last heard {p.heartbeatAgeMs === null ? "never" : `${age(p.heartbeatAgeMs)} ago`}</div>
                  </>
                ) : p.status}
              </td>
              <td className="mono">{p.version ?? ""}</td>
              <td>{age(p.heartbeatAgeMs)} ago</td>
              <td>{fmt(p.batchesInFlight)} / {fmt(p.capacity)}</td>
              <td data-self-check={p.selfCheck ? String(p.selfCheck.ok) : "none"}>
                {!p.selfCheck ? <span className="muted">not reported</span> : p.selfCheck.ok ? (
                  <>ok{p.selfCheck.checks.some((c) => c.ok === null && c.detail.startsWith("not applicable")) && <span className="muted"> · some checks not applicable (simulated world)</span>}</>
                ) : (
                  <strong style={{ color: "var(--undeliverable)" }}>{p.selfCheck.checks.filter((c) => c.ok === false).map((c) => `${c.name}: ${c.detail}`).join("; ") || "failed"}</strong>
                )}
                {p.selfCheck && <div className="muted">{p.selfCheck.checked_at}</div>}
              </td>
              <td>{p.sharedState ? `${p.sharedState.mode} · ${fmt(p.sharedState.open_breakers)} open breakers` : <span className="muted">not reported</span>}</td>
              <td data-last-hour>
                {fmt(p.lastHour.results)} results
                {p.lastHour.results > 0 && (
                  <div className="muted">
                    {fmt(p.lastHour.deliverable)} deliverable · {fmt(p.lastHour.undeliverable)} undeliverable · {fmt(p.lastHour.risky)} risky · {fmt(p.lastHour.unknown)} unknown ({pct(p.lastHour.unknown, p.lastHour.results)}% unknown)
                  </div>
                )}
              </td>
              <td>
                <Form method="post" className="row">
                  <input type="hidden" name="probeId" value={p.id} />
                  {(p.status === "disabled" || p.status === "drained") && <button className="btn small" type="submit" name="intent" value="enable-probe" aria-label={`Enable ${p.id}`}>Enable</button>}
                  {p.status !== "dead" && p.status !== "drained" && p.status !== "disabled" && <button className="btn small" type="submit" name="intent" value="drain-probe" aria-label={`Drain ${p.id}`}>Drain</button>}
                  {p.status !== "dead" && p.status !== "disabled" && <button className="btn small" type="submit" name="intent" value="disable-probe" aria-label={`Disable ${p.id}`}>Disable</button>}
                </Form>
              </td>
            </tr>
          ))}
        </Listing>
      </Section>

      <Section id="jobs" title="Lists in flight" note="Stuck: none of the list's batches changed state for 10 minutes (a batch's lease is shorter).">
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
        <h3>Retried batches</h3>
        <p className="muted">Batches of live lists sent out more than once (a lease ran out, a dispatch failed, a re-queue).</p>
        <Listing label="Retried batches" rows={retried.length} empty="No batch was sent twice." head={["Batch", "List", "Account", "Status", "Attempts", "Last probe"]}>
          {retried.map((b) => (
            <tr key={b.id}>
              <td className="mono">{b.id}</td>
              <td>{b.job}<div className="mono muted">{b.jobId}</div></td>
              <td>{b.account}<div className="mono muted">{b.accountId}</div></td>
              <td>{b.status}</td>
              <td>{fmt(b.attempts)}</td>
              <td className="mono">{b.probeId ?? ""}</td>
            </tr>
          ))}
        </Listing>
      </Section>

      <Section id="accounts" title="Accounts">
        <Form method="get" className="row" aria-label="Find accounts">
          <div>
            <label htmlFor="admin-q">Name, email or id</label>
            <input id="admin-q" name="q" defaultValue={q} />
          </div>
          <button className="btn" type="submit">Search</button>
          {q && <Link to="/admin">Clear</Link>}
        </Form>
        <Listing label="Accounts" rows={accounts.length} empty="No account matches." head={["Account", "Members", "Balance", "Adjust credits", "Access"]}>
          {accounts.map((a) => (
            <tr key={a.id} data-account={a.id}>
              <td>
                {a.name} <span className="muted">({a.kind})</span><div className="mono muted">{a.id}</div>
                {a.disabledAt !== null && <div data-disabled><strong>Disabled</strong>: {a.disabledReason}</div>}
              </td>
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
              <td>
                <Form method="post" className="row">
                  <input type="hidden" name="accountId" value={a.id} />
                  {a.disabledAt !== null ? (
                    <button className="btn small" type="submit" name="intent" value="enable-account" aria-label={`Enable account ${a.id}`}>Enable</button>
                  ) : (
                    <>
                      <input name="reason" required maxLength={500} aria-label={`Why disable ${a.id}`} placeholder="Why disable" />
                      <button className="btn small danger" type="submit" name="intent" value="disable-account" aria-label={`Disable account ${a.id}`}>Disable</button>
                    </>
                  )}
                </Form>
              </td>
            </tr>
          ))}
        </Listing>
      </Section>

      <Section id="accuracy" title="Accuracy" note="Every account's last 12 months: addresses called deliverable, messages sent, and hard 5.1.x bounces that contradicted a deliverable verdict (each refunded). Below, those contradictions by the probe that verified the address and by the provider of the MX it was verified at.">
        <AccuracyTable months={accuracy.months} label="Accuracy per month, every account" />
        <div className="grid">
          <div>
            <h3>By verifying probe</h3>
            <Listing label="Contradictions by probe" rows={accuracy.probes.length} empty="No verdict was contradicted." head={["Probe", "Contradicted"]}>
              {accuracy.probes.map((p) => (
                <tr key={p.probe_id ?? ""} data-verifier={p.probe_id ?? "none"}>
                  <td className="mono">{p.probe_id ?? <span className="muted">not recorded</span>}</td>
                  <td className="num">{fmt(p.contradicted)}</td>
                </tr>
              ))}
            </Listing>
          </div>
          <div>
            <h3>By receiving provider</h3>
            <Listing label="Contradictions by provider" rows={accuracy.providers.length} empty="No verdict was contradicted." head={["Provider (MX domain)", "Contradicted"]}>
              {accuracy.providers.map((p) => (
                <tr key={p.provider ?? ""} data-provider={p.provider ?? "none"}>
                  <td className="mono">{p.provider ?? <span className="muted">no MX recorded</span>}</td>
                  <td className="num">{fmt(p.contradicted)}</td>
                </tr>
              ))}
            </Listing>
          </div>
        </div>
      </Section>

      <Section id="stripe" title="Held Stripe events" note="Events no retry from Stripe could apply (an unknown account, bad metadata). Retry one once its cause is fixed: it applies once.">
        <Listing label="Held Stripe events" rows={held.length} empty="No Stripe event is held." head={["Event", "Type", "Why", "Age", <span className="sr-only">Action</span>]}>
          {held.map((e) => (
            <tr key={e.id}>
              <td className="mono">{e.id}</td>
              <td className="mono">{e.type}</td>
              <td className="mono">{e.code ?? ""}</td>
              <td>{age(e.ageMs)}</td>
              <td>
                <Form method="post">
                  <input type="hidden" name="eventId" value={e.id} />
                  <button className="btn small" type="submit" name="intent" value="retry-stripe-event" aria-label={`Retry ${e.id}`}>Retry</button>
                </Form>
              </td>
            </tr>
          ))}
        </Listing>
      </Section>
    </>
  );
}
