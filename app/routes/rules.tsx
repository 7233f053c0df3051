// The account's rules (issue 25): what `safe_to_send` means here, shown to everyone in the account
// (it decides every export, webhook and campaign audience), changed by owners and admins (as only
// they make the API keys that can, keys:manage), with a preview of what they, and each one-rule
// change, would do to the latest list. "Preview" rates rules as typed without saving them.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import { RULE_CHOICES, type Refusal, type Rules } from "../../core/rules.ts";
import { can } from "../../core/roles.ts";
import { requireViewer } from "../auth.server.ts";
import { changeLabel, REFUSAL_LABEL, RULE_LABEL } from "../components/rules.tsx";
import { fmt, TableScroll } from "../components/ui.tsx";
import { refused } from "../lib/actions.server.ts";
import { optionalNumber, text } from "../lib/forms.server.ts";
import { authorize } from "../lib/identity.server.ts";
import { getRules, previewRules, putRules, validRules, type RulesPreview } from "../lib/rules.server.ts";

export const meta: MetaFunction = () => [{ title: "Sending rules · mxray" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const rules = await getRules(services, viewer);
  return { account: viewer.account.name, rules, preview: await previewRules(services, viewer, { rules }), canManage: can(viewer.account.role, "keys:manage") };
}

/** The form's rules as the API takes them; the service's schema refuses what is not. */
const formRules = (form: FormData) => ({
  ...Object.fromEntries(Object.keys(RULE_CHOICES).map((k) => [k, text(form, k)])),
  min_score: optionalNumber(form, "min_score") ?? 0,
});

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const form = await args.request.formData();
  try {
    if (form.get("intent") === "preview") {
      const draft = validRules(formRules(form));
      return { draft, preview: await previewRules(services, viewer, { rules: draft }) };
    }
    authorize(viewer, "keys:manage");
    await putRules(services, viewer, formRules(form));
    return { ok: "Saved. Exports, the results filter and single checks use these rules from now on; a campaign already sending keeps the rules it began with." };
  } catch (e) {
    return refused(e);
  }
}

function RulesForm({ rules, canManage, busy }: { rules: Rules; canManage: boolean; busy: boolean }) {
  return (
    <Form method="post" aria-label="Sending rules">
      <div className="row">
        {(Object.keys(RULE_CHOICES) as (keyof typeof RULE_CHOICES)[]).map((rule) => (
          <div key={rule}>
            <label htmlFor={`rule-${rule}`}>{RULE_LABEL[rule].name}</label>
            <select id={`rule-${rule}`} name={rule} defaultValue={rules[rule]} style={{ width: "auto" }}>
              {RULE_CHOICES[rule].map((choice) => <option key={choice} value={choice}>{(RULE_LABEL[rule].choices as Record<string, string>)[choice]}</option>)}
            </select>
          </div>
        ))}
        <div>
          <label htmlFor="rule-min_score">{RULE_LABEL.min_score.name}</label>
          <input id="rule-min_score" name="min_score" type="number" min={0} max={100} step={1} required defaultValue={rules.min_score} style={{ width: "7rem" }} />
        </div>
      </div>
      <p className="muted hint">Undeliverable and unknown addresses are never safe to send. A campaign with “also send to risky addresses” sends to risky ones the rules refuse for being risky; every other rule still holds.</p>
      <div className="row">
        <button className="btn" type="submit" name="intent" value="preview" disabled={busy}>Preview</button>
        {canManage && <button className="btn primary" type="submit" name="intent" value="save" disabled={busy}>Save rules</button>}
      </div>
    </Form>
  );
}

function Preview({ preview, draft }: { preview: RulesPreview; draft: boolean }) {
  if (!preview.job) return <p className="empty">A preview needs a finished list: <Link to="/upload">upload one</Link>.</p>;
  const refusals = (Object.entries(preview.refused) as [Refusal, number][]).filter(([, n]) => n > 0);
  const changes = preview.changes.filter((c) => c.gained > 0 || c.lost > 0);
  return (
    <>
      <p data-testid="rules-preview">
        {draft ? "With these rules (not saved), " : "With the rules above, "}
        <strong data-testid="preview-safe">{fmt(preview.safe)}</strong> of {preview.truncated ? `the first ${fmt(preview.rows)} results` : `the ${fmt(preview.rows)} results`} of{" "}
        <Link to={`/jobs/${preview.job.id}`}>{preview.job.name}</Link> are safe to send.
        {refusals.length > 0 && <> Not safe: {refusals.map(([why, n]) => `${fmt(n)} ${REFUSAL_LABEL[why]}`).join(" · ")}.</>}
      </p>
      {changes.length === 0 ? (
        <p className="muted">No single change of a rule would change what is safe to send in this list.</p>
      ) : (
        <TableScroll label="What each change would do">
          <table aria-label="What each change would do">
            <thead><tr><th scope="col">If you changed</th><th scope="col" className="num">Would become safe</th><th scope="col" className="num">Would stop being safe</th></tr></thead>
            <tbody>
              {changes.map((c) => (
                <tr key={`${c.rule}:${c.to}`}>
                  <td>{changeLabel(c.rule, c.to)}</td>
                  <td className="num">{c.gained > 0 ? `+${fmt(c.gained)}` : "—"}</td>
                  <td className="num">{c.lost > 0 ? `−${fmt(c.lost)}` : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </>
  );
}

export default function RulesPage() {
  const data = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const draft = answer && "draft" in answer ? answer : null;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Sending rules</h1>
          <p>
            What “safe to send” means for {data.account}: every result's <code>safe_to_send</code> in downloads, the API and webhooks, the results filter, and the audience of
            each campaign. Rules apply when results are read, so a change shows at once without verifying anything again.
            {!data.canManage && " Only an owner or an admin can change them."}
          </p>
        </div>
      </div>
      {answer && "error" in answer && answer.error && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "ok" in answer && answer.ok && <div className="alert ok" role="status">{answer.ok}</div>}
      <section className="card" aria-labelledby="rules-title">
        <h2 id="rules-title">Rules</h2>
        <RulesForm key={draft ? JSON.stringify(draft.draft) : JSON.stringify(data.rules)} rules={draft?.draft ?? data.rules} canManage={data.canManage} busy={busy} />
      </section>
      <section className="card" aria-labelledby="preview-title">
        <h2 id="preview-title">On your latest list</h2>
        <Preview preview={draft?.preview ?? data.preview} draft={draft !== null} />
      </section>
    </>
  );
}
