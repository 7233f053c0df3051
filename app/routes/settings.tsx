// The account's settings (issue 25): what the account is (name, kind, id, your role), how long it
// keeps the results of its lists, and erasing one address from everything it keeps (a data
// subject's request). Everyone in the account sees them; only owners and admins change them, as
// only they make the API keys that can (keys:manage, like /senders). The account's sending rules
// have their own page.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import { can } from "../../core/roles.ts";
import { requireViewer } from "../auth.server.ts";
import { fmt } from "../components/ui.tsx";
import { refused, ServiceError } from "../lib/actions.server.ts";
import { text } from "../lib/forms.server.ts";
import { authorize } from "../lib/identity.server.ts";
import { eraseAddress, getRetention, RETENTION_DAYS, updateRetention } from "../lib/privacy.server.ts";

export const meta: MetaFunction = () => [{ title: "Settings · mxray" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const { account } = viewer;
  return {
    account: { id: account.id, name: account.name, kind: account.kind, role: account.role },
    retention: (await getRetention(args.context.services, viewer)).retention_days,
    choices: RETENTION_DAYS,
    canManage: can(account.role, "keys:manage"),
  };
}

/** The retention form's value: "" keeps results until deleted; anything else must be one of the choices (the service says so). */
function retentionChoice(form: FormData): number | null {
  const v = text(form, "retention_days");
  if (v === "") return null;
  if (!/^\d+$/.test(v)) throw new ServiceError("validation_failed", "retention_days: choose one of the options");
  return Number(v);
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const form = await args.request.formData();
  const intent = String(form.get("intent") ?? "");
  try {
    authorize(viewer, "keys:manage");
    if (intent === "retention") {
      const { retention_days: days } = await updateRetention(services, viewer, { retention_days: retentionChoice(form) });
      return { at: intent, ok: days === null ? "Saved: results are kept until you delete a list." : `Saved: results are removed ${days} days after a list ends. Lists that ended earlier lose theirs within minutes.` };
    }
    if (intent === "erase") {
      const erased = await eraseAddress(services, viewer, { email: text(form, "email") });
      return { at: intent, erased };
    }
    return { at: intent, error: { code: "bad_request", message: "Unknown request." } };
  } catch (e) {
    return { at: intent, ...refused(e) };
  }
}

type Answer = ReturnType<typeof useActionData<typeof action>>;

function Notice({ answer, at }: { answer: Answer; at: string }) {
  if (!answer || answer.at !== at) return null;
  if ("error" in answer && answer.error) return <div className="alert error" role="alert">{answer.error.message}</div>;
  if ("ok" in answer && answer.ok) return <div className="alert ok" role="status">{answer.ok}</div>;
  return null;
}

const PLACES: Record<string, string> = {
  results: "results of lists",
  unanswered: "addresses still waiting in a running list",
  campaign_recipients: "campaign recipients",
  bounces: "bounces",
  soft_bounce_scores: "soft-bounce scores",
  webhook_events: "webhook events",
  cached_checks: "cached single checks",
  idempotency_records: "kept API answers",
};

export default function Settings() {
  const { account, retention, choices, canManage } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const erased = answer && "erased" in answer ? answer.erased : null;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Settings</h1>
          <p>{account.name}: how long it keeps what it verifies, and erasing one address on request. The sending rules are on <Link to="/rules">their own page</Link>.</p>
        </div>
      </div>

      <section className="card" aria-labelledby="account-title">
        <h2 id="account-title">Account</h2>
        <dl className="evidence">
          <dt>Name</dt><dd>{account.name}</dd>
          <dt>Kind</dt><dd>{account.kind === "team" ? "team" : "personal"}</dd>
          <dt>Id</dt><dd className="mono">{account.id}</dd>
          <dt>Your role</dt><dd>{account.role}</dd>
        </dl>
      </section>

      <section className="card" aria-labelledby="retention-title">
        <h2 id="retention-title">Keep results</h2>
        <p className="muted">
          How long the results of a list stay after it ends: the addresses, their evidence and your uploaded columns. Past it, the list keeps its name and counts, its finished campaigns
          keep their counts (their recipients' addresses are kept only as a hash, so old unsubscribe links still work), and bounces older than that go too. Suppressions stay.
          {!canManage && " Only an owner or an admin can change this."}{" "}
          <Link to="/docs/data-protection">What is kept, where, and for how long</Link>.
        </p>
        <Notice answer={answer} at="retention" />
        <Form method="post" aria-label="Keep results">
          <fieldset className="plain" disabled={!canManage || busy}>
            <div className="row">
              <div>
                <label htmlFor="retention-days">Keep results</label>
                <select id="retention-days" name="retention_days" defaultValue={retention === null ? "" : String(retention)} style={{ width: "auto" }}>
                  <option value="">until I delete the list</option>
                  {choices.map((d) => <option key={d} value={d}>for {fmt(d)} days after the list ends</option>)}
                </select>
              </div>
              {canManage && <button className="btn primary" type="submit" name="intent" value="retention">Save</button>}
            </div>
          </fieldset>
        </Form>
      </section>

      {canManage && (
        <section className="card" aria-labelledby="erase-title">
          <h2 id="erase-title">Erase an address</h2>
          <p className="muted">
            For a person who asked to be forgotten: their address leaves every list's results, the campaigns' recipients, the bounces and the caches of this account. If it was suppressed,
            it stays suppressed as a hash, so no campaign mails it again. Counts stay. This cannot be undone; the audit log records it by the hash only.
          </p>
          <Notice answer={answer} at="erase" />
          {erased && (
            <div className="alert ok" role="status" data-testid="erased">
              Erased <span className="mono">{erased.email_hash}</span>:{" "}
              {Object.entries(erased.removed).filter(([, n]) => n > 0).map(([place, n]) => `${fmt(n)} ${PLACES[place] ?? place}`).join(", ") || "nothing of it was left"}
              {erased.suppressed && "; it stays suppressed, as its hash"}.
            </div>
          )}
          <Form method="post" aria-label="Erase an address" onSubmit={(e) => !confirm("Erase this address from everything the account keeps? This cannot be undone.") && e.preventDefault()}>
            <div className="row">
              <div className="grow">
                <label htmlFor="erase-email">Address</label>
                <input id="erase-email" name="email" type="text" required maxLength={512} placeholder="someone@example.com" autoComplete="off" />
              </div>
              <button className="btn danger" type="submit" name="intent" value="erase" disabled={busy}>Erase</button>
            </div>
          </Form>
        </section>
      )}
    </>
  );
}
