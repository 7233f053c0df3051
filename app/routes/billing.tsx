// Billing (issue 11): the balance, packs and plans bought through Stripe's hosted Checkout, the
// Customer Portal, auto top-up (at most AUTO_TOPUP_MAX_PER_DAY a UTC day; the page says when it is
// paused, issue 21), and the ledger with its CSV export. Owners and admins only; only owners
// change auto top-up. Credits are never granted here: Checkout's signed webhook does that,
// so the page after a payment only reads the balance. Beside the ledger, our measured accuracy on
// the account's mail per month (issue 24): the bounces that contradicted us gave their credit back.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import { AUTO_TOPUP_MAX_PER_DAY, AUTO_TOPUP_MIN_THRESHOLD, formatMoney, formatPerCredit, productByKey, savingPercent } from "../../core/billing.ts";
import { can } from "../../core/roles.ts";
import { requireViewer } from "../auth.server.ts";
import { AccuracyTable } from "../components/accuracy.tsx";
import { fmt, TableScroll, utc } from "../components/ui.tsx";
import { authorizeOr403, refused, ServiceError } from "../lib/actions.server.ts";
import { accountAccuracy, billingOverview, openPortal, setAutoTopUp, startCheckout } from "../lib/billing.server.ts";
import { listLedger } from "../lib/credits.server.ts";
import { authorize, listMembers } from "../lib/identity.server.ts";
import { actorLabel, reasonLabel, signed } from "../lib/ledger.ts";

export const meta: MetaFunction = () => [{ title: "Billing · mxray" }];

const LEDGER_PAGE = 25;

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "billing:view");
  const { services } = args.context;
  const url = new URL(args.request.url);
  const cursor = url.searchParams.get("cursor") ?? undefined;
  const [overview, ledger, members, accuracy] = await Promise.all([
    billingOverview(services, { accountId: viewer.account.id, actor: viewer.user.id }),
    listLedger(services, { accountId: viewer.account.id, actor: viewer.user.id }, { limit: LEDGER_PAGE, cursor }).catch((e: unknown) => {
      // A hand-edited ?cursor= is a bad link, not a failure of ours.
      if (e instanceof ServiceError && e.code === "validation_failed") throw new Response(e.message, { status: 400 });
      throw e;
    }),
    listMembers(services, viewer),
    accountAccuracy(services, viewer),
  ]);
  const emails = new Map(members.map((m) => [m.userId, m.email]));
  return {
    account: viewer.account.name,
    overview,
    canManage: can(viewer.account.role, "billing:manage"),
    checkout: url.searchParams.get("checkout"),
    paged: cursor !== undefined,
    entries: ledger.data.map((e) => ({ ...e, actor: actorLabel(e.actor, emails) })),
    nextCursor: ledger.next_cursor,
    accuracy: accuracy.months,
  };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const form = await args.request.formData();
  const intent = form.get("intent");
  try {
    authorize(viewer, "billing:view");
    if (intent === "buy") {
      const { url } = await startCheckout(services, { accountId: viewer.account.id, actor: viewer.user.id }, { product: String(form.get("product") ?? ""), accountName: viewer.account.name });
      return redirect(url);
    }
    if (intent === "portal") return redirect((await openPortal(services, { accountId: viewer.account.id, actor: viewer.user.id })).url);
    if (intent === "auto-topup") {
      authorize(viewer, "billing:manage");
      const enabled = form.get("enabled") === "on";
      await setAutoTopUp(services, { accountId: viewer.account.id, actor: viewer.user.id }, { enabled, threshold: Number(form.get("threshold") || NaN), pack: String(form.get("pack") ?? "") });
      return { ok: enabled ? "Auto top-up is on." : "Auto top-up is off." };
    }
    return { error: { code: "bad_request", message: "Unknown request." } };
  } catch (e) {
    return refused(e);
  }
}

type Overview = ReturnType<typeof useLoaderData<typeof loader>>["overview"];

function priceOf(entry: Overview["catalog"][number]): string {
  return entry.price ? formatMoney(entry.price.unitAmount, entry.price.currency) : "not for sale now";
}

/** Buying leaves for Stripe's page: a plain form post, so the redirect is the browser's own. */
function BuyButton({ entry, label }: { entry: Overview["catalog"][number]; label: string }) {
  return (
    <Form method="post" action="/billing" reloadDocument>
      <input type="hidden" name="product" value={entry.lookupKey} />
      <button className="btn small primary" type="submit" name="intent" value="buy" disabled={!entry.price} aria-label={`${label} ${entry.name}`}>{label}</button>
    </Form>
  );
}

/** "$0.0008 per credit · save 20%": the saving is against the smallest pack's price per credit. */
function perCredit(entry: Overview["catalog"][number], base: Overview["catalog"][number] | undefined): string {
  if (!entry.price) return "";
  const each = `${formatPerCredit(entry.price.unitAmount, entry.price.currency, entry.credits)} per credit`;
  const saving = base?.price && base !== entry ? savingPercent({ amount: base.price.unitAmount, currency: base.price.currency, credits: base.credits }, { amount: entry.price.unitAmount, currency: entry.price.currency, credits: entry.credits }) : null;
  return saving ? `${each} · save ${saving}%` : each;
}

function Catalog({ overview }: { overview: Overview }) {
  const packs = overview.catalog.filter((p) => p.kind === "pack");
  const plans = overview.catalog.filter((p) => p.kind === "plan");
  const smallest = packs.reduce<(typeof packs)[number] | undefined>((a, p) => (a && a.credits <= p.credits ? a : p), undefined);
  const current = overview.plan && (productByKey(overview.plan.lookupKey ?? "")?.name ?? "a plan");
  return (
    <>
      <section className="card" aria-labelledby="packs-title">
        <h2 id="packs-title">Credit packs</h2>
        {/* A pack is its credits: no Pack column repeating them (issue 26). */}
        <TableScroll label="Credit packs">
          <table aria-label="Credit packs">
            <thead><tr><th scope="col">Credits</th><th scope="col">Price</th><th scope="col">Per credit</th><th scope="col"><span className="sr-only">Buy</span></th></tr></thead>
            <tbody>
              {packs.map((p) => (
                <tr key={p.lookupKey} data-pack={p.lookupKey}>
                  <td>{fmt(p.credits)}</td>
                  <td>{priceOf(p)}</td>
                  <td className="muted">{perCredit(p, smallest)}</td>
                  <td><BuyButton entry={p} label="Buy" /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      </section>
      <section className="card" aria-labelledby="plans-title">
        <h2 id="plans-title">Monthly plans</h2>
        {current ? (
          <p>Current plan: <strong>{current}</strong>. Change or cancel it in the billing portal.</p>
        ) : (
          <TableScroll label="Monthly plans">
            <table aria-label="Monthly plans">
              <thead><tr><th scope="col">Plan</th><th scope="col">Credits a month</th><th scope="col">Price</th><th scope="col">Per credit</th><th scope="col"><span className="sr-only">Subscribe</span></th></tr></thead>
              <tbody>
                {plans.map((p) => (
                  <tr key={p.lookupKey}>
                    <td>{p.name}</td>
                    <td>{fmt(p.credits)}</td>
                    <td>{priceOf(p)}{p.price && " a month"}</td>
                    <td className="muted">{perCredit(p, undefined)}</td>
                    <td><BuyButton entry={p} label="Subscribe" /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
        {overview.hasCustomer && (
          <Form method="post" action="/billing" reloadDocument>
            <button className="btn" type="submit" name="intent" value="portal">Manage billing (invoices, receipts, cards)</button>
          </Form>
        )}
      </section>
    </>
  );
}

function AutoTopUp({ overview, canManage }: { overview: Overview; canManage: boolean }) {
  const a = overview.autoTopUp;
  const busy = useNavigation().state === "submitting";
  const packs = overview.catalog.filter((p) => p.kind === "pack");
  return (
    <section className="card" aria-labelledby="topup-title">
      <h2 id="topup-title">Auto top-up</h2>
      <p className="muted">
        When the balance falls below the threshold, the card saved with a purchase is charged for the chosen pack. The threshold must be below the
        pack's credits, and the card is charged at most {AUTO_TOPUP_MAX_PER_DAY} times a day (UTC).{!canManage && " Only an owner can change this."}
      </p>
      <Form method="post" action="/billing">
        <fieldset disabled={!canManage || busy} style={{ border: 0, padding: 0, margin: 0 }}>
          <div className="row">
            <label className="topup-toggle">
              <input type="checkbox" name="enabled" defaultChecked={a.enabled} /> Turn on
            </label>
            <div>
              <label htmlFor="topup-threshold">Below (credits)</label>
              <input id="topup-threshold" name="threshold" type="number" min={AUTO_TOPUP_MIN_THRESHOLD} step={1} required defaultValue={a.threshold} style={{ width: "9rem" }} />
            </div>
            <div>
              <label htmlFor="topup-pack">Pack to buy</label>
              <select id="topup-pack" name="pack" defaultValue={a.pack} style={{ width: "auto" }}>
                {packs.map((p) => <option key={p.lookupKey} value={p.lookupKey}>{p.name}{p.price ? ` (${formatMoney(p.price.unitAmount, p.price.currency)})` : ""}</option>)}
              </select>
            </div>
            {canManage && <button className="btn primary" type="submit" name="intent" value="auto-topup">Save</button>}
          </div>
        </fieldset>
      </Form>
      {a.state === "charging" && <p className="muted">A top-up charge is in progress.</p>}
      {a.enabled && a.today > 0 && !a.pausedUntil && <p className="muted">{a.today} of {AUTO_TOPUP_MAX_PER_DAY} top-ups today (UTC).</p>}
    </section>
  );
}

function Accuracy({ months }: { months: ReturnType<typeof useLoaderData<typeof loader>>["accuracy"] }) {
  return (
    <section className="card" aria-labelledby="accuracy-title">
      <h2 id="accuracy-title">Our accuracy on your mail</h2>
      <p className="muted">
        Per month: the addresses we called deliverable, the messages your campaigns sent, and the hard bounces (“no such mailbox”) that contradicted a deliverable verdict of the 30
        days before. Each of those gave its credit back (“Refund: a deliverable address bounced” below).
      </p>
      <AccuracyTable months={months} label="Accuracy per month" />
    </section>
  );
}

/** The list an entry moved credits for, by name (its id in the tooltip); a deleted list has no page to link to. */
function ListCell({ jobId, name }: { jobId: string | null; name: string | null }) {
  if (!jobId) return null;
  if (name === null) return <span className="muted" title={jobId}>Deleted list</span>;
  return <Link to={`/jobs/${jobId}`} title={jobId}>{name}</Link>;
}

function History({ entries, nextCursor, paged }: Pick<ReturnType<typeof useLoaderData<typeof loader>>, "entries" | "nextCursor" | "paged">) {
  return (
    <section className="card" aria-labelledby="ledger-title">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h2 id="ledger-title">History</h2>
        <a className="btn small" href="/billing/ledger.csv" download>Export CSV</a>
      </div>
      {entries.length === 0 ? (
        <p className="empty">No credit movements{paged ? " on this page" : " yet"}.</p>
      ) : (
        <TableScroll label="Credit history">
          <table aria-label="Credit history">
            <thead><tr><th scope="col">Date</th><th scope="col">What</th><th scope="col">Credits</th><th scope="col" className="hide-sm">By</th><th scope="col">List</th></tr></thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} data-reason={e.reason}>
                  <td className="muted">{utc(e.created_at)}</td>
                  <td>{reasonLabel(e.reason)}</td>
                  <td className="mono">{signed(e.delta)}</td>
                  <td className="hide-sm">{e.actor}</td>
                  <td><ListCell jobId={e.job_id} name={e.job_name} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <div className="row">
        {paged && <Link to="/billing">← Newest</Link>}
        {nextCursor && <Link to={`/billing?cursor=${encodeURIComponent(nextCursor)}`}>Older →</Link>}
      </div>
    </section>
  );
}

export default function Billing() {
  const { account, overview, canManage, checkout, paged, entries, nextCursor, accuracy } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const failed = overview.autoTopUp.state === "failed";
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Billing</h1>
          <p>Credits of {account}: one per unique address checked; unknown answers are refunded.</p>
        </div>
      </div>
      {checkout === "success" && <div className="alert ok" role="status">Payment received — credits appear as soon as Stripe confirms.</div>}
      {checkout === "canceled" && <div className="alert" role="status">Checkout was canceled; nothing was charged.</div>}
      {answer && "error" in answer && answer.error && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "ok" in answer && answer.ok && <div className="alert ok" role="status">{answer.ok}</div>}
      {overview.autoTopUp.pausedUntil && (
        <div className="alert" role="status" data-testid="topup-paused">
          Auto top-up paused: {overview.autoTopUp.today} top-ups today, the most in a day; it resumes at {utc(overview.autoTopUp.pausedUntil)}.
        </div>
      )}
      {failed && (
        <div className="alert error" role="alert">
          Auto top-up failed: {overview.autoTopUp.error ?? "the charge was declined"}; {canManage ? "save to try again." : "an owner can save the settings to try again."}
        </div>
      )}
      <div className="stats" style={{ marginBottom: "1rem" }}>
        <div className="stat">
          <div className="label">Balance</div>
          <div className="value" style={{ fontSize: "2.4rem" }} data-testid="balance">{fmt(overview.balance)}</div>
        </div>
      </div>
      {overview.configured ? (
        <>
          <Catalog overview={overview} />
          <AutoTopUp overview={overview} canManage={canManage} />
        </>
      ) : (
        <div className="card"><p>Billing is not configured here (STRIPE_SECRET_KEY), so credits cannot be bought.</p></div>
      )}
      <Accuracy months={accuracy} />
      <History entries={entries} nextCursor={nextCursor} paged={paged} />
    </>
  );
}
