// The new-campaign flow (issue 23): list → sender → template (with a live preview of the list's
// first deliverable row) → schedule → consent → review → create and start. Each step is a GET form
// carrying the other choices in the URL (app/lib/campaignflow.ts), so nothing is written until
// the last step; the loader checks the earlier choices in order and sends a stale or tampered one
// back to its step with why. The last step makes the campaign (its consent statement audited with
// who made it) and starts it. Owners and admins (campaigns:send).
import type { ActionFunctionArgs, LoaderFunctionArgs, SerializeFrom } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, useSubmit, type MetaFunction } from "@remix-run/react";
import { useEffect, useState, type FormEvent } from "react";
import type { JobView } from "../../core/contracts.ts";
import type { ConsentBasis } from "../../core/enums.ts";
import { requireViewer } from "../auth.server.ts";
import { fmt, utc } from "../components/ui.tsx";
import { authorizeOr403, refused, ServiceError } from "../lib/actions.server.ts";
import { BASIS_LABEL, consentOf, isStep, MAX_NAME, nameOf, others, readDraft, scheduleOf, STEP_LABEL, STEPS, stepUrl, type Consent, type Draft, type Schedule, type Step } from "../lib/campaignflow.ts";
import {
  audienceEstimate,
  createCampaign,
  getJob,
  getSender,
  getTemplate,
  jobView,
  listSenders,
  listTemplates,
  MAX_CONSENT_SOURCE,
  MAX_RATE_PER_HOUR,
  orNull,
  previewTemplate,
  sendableJobs,
  startCampaign,
  type SenderView,
  type TemplatePreview,
  type TemplateView,
} from "../lib/campaigns.server.ts";
import { authorize } from "../lib/identity.server.ts";

export const meta: MetaFunction = () => [{ title: "New campaign · mxray" }];

type Services = LoaderFunctionArgs["context"]["services"];
type Viewer = Awaited<ReturnType<typeof requireViewer>>;

/** What the earlier steps chose, each checked again (a list may have been deleted, a sender unconfirmed, since). */
interface Chosen {
  job?: ReturnType<typeof jobView>;
  sender?: SenderView;
  template?: TemplateView;
  schedule?: Schedule;
  consent?: Consent;
}

/** Checks the choices of every step before `step`, in order; a step whose choice fails is shown again, with why. */
async function checkChoices(s: Services, viewer: Viewer, draft: Draft, step: Step): Promise<Chosen> {
  const chosen: Chosen = {};
  const back = (at: Step, error: string) => redirect(stepUrl(draft, at, { error }));
  for (const earlier of STEPS.slice(0, STEPS.indexOf(step))) {
    if (earlier === "list") {
      const row = draft.job ? await orNull(() => getJob(s, viewer, draft.job!)) : null;
      if (!row || row.kind !== "verify" || row.status !== "completed" || row.deletedAt !== null) throw back("list", "Choose a completed list of this account.");
      chosen.job = jobView(row);
    } else if (earlier === "sender") {
      const sender = draft.sender ? await orNull(() => getSender(s, viewer, draft.sender!)) : null;
      if (!sender?.confirmed) throw back("sender", "Choose a confirmed sender of this account.");
      chosen.sender = sender;
    } else if (earlier === "template") {
      const template = draft.template ? await orNull(() => getTemplate(s, viewer, draft.template!)) : null;
      if (!template) throw back("template", "Choose a template of this account.");
      chosen.template = template;
    } else if (earlier === "schedule") {
      const schedule = scheduleOf(draft, MAX_RATE_PER_HOUR);
      if (!schedule.ok) throw back("schedule", schedule.message);
      chosen.schedule = schedule.value;
    } else if (earlier === "consent") {
      const consent = consentOf(draft, MAX_CONSENT_SOURCE);
      if (!consent.ok) throw back("consent", consent.message);
      chosen.consent = consent.value;
    }
  }
  return chosen;
}

/** The preview of a template for the list's first deliverable row, or why it cannot render. */
async function preview(s: Services, viewer: Viewer, templateId: string, jobId: string | undefined): Promise<TemplatePreview | { error: string }> {
  try {
    return await previewTemplate(s, viewer, { id: templateId, job_id: jobId });
  } catch (e) {
    if (e instanceof ServiceError) return { error: e.message };
    throw e;
  }
}

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "campaigns:send");
  const { services } = args.context;
  const url = new URL(args.request.url);
  const draft = readDraft(url.searchParams);
  const requested = url.searchParams.get("step");
  const step: Step = isStep(requested) ? requested : "list";
  const chosen = await checkChoices(services, viewer, draft, step);
  const base = { step, draft, chosen, error: url.searchParams.get("error"), limits: { rate: MAX_RATE_PER_HOUR, source: MAX_CONSENT_SOURCE } };
  switch (step) {
    case "list":
      return { ...base, jobs: await sendableJobs(services, viewer) };
    case "sender":
      return { ...base, senders: (await listSenders(services, viewer, { limit: 100 })).data };
    case "template": {
      const templates = (await listTemplates(services, viewer, { limit: 100 })).data;
      const shown = templates.find((t) => t.id === draft.template) ?? templates[0];
      return { ...base, templates, shown: shown?.id ?? null, preview: shown ? await preview(services, viewer, shown.id, chosen.job!.id) : null };
    }
    case "review":
      return {
        ...base,
        estimate: await audienceEstimate(services, viewer, { jobId: chosen.job!.id, includeRisky: chosen.schedule!.includeRisky }),
        preview: await preview(services, viewer, chosen.template!.id, chosen.job!.id),
        name: nameOf(draft, { list: chosen.job!.name, template: chosen.template!.name }),
      };
    default:
      return base;
  }
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const draft = readDraft(await args.request.formData());
  try {
    authorize(viewer, "campaigns:send");
    const schedule = scheduleOf(draft, MAX_RATE_PER_HOUR);
    if (!schedule.ok) throw new ServiceError("validation_failed", schedule.message);
    const consent = consentOf(draft, MAX_CONSENT_SOURCE);
    if (!consent.ok) throw new ServiceError("validation_failed", consent.message);
    const made = await createCampaign(services, viewer, {
      name: draft.name ?? "",
      job_id: draft.job ?? "",
      sender_id: draft.sender ?? "",
      template_id: draft.template ?? "",
      include_risky: schedule.value.includeRisky,
      send_at: schedule.value.sendAt,
      rate_per_hour: schedule.value.ratePerHour,
      consent: consent.value,
    });
    try {
      await startCampaign(services, viewer, made.id);
    } catch (e) {
      // Made, but not started (the sender lost its confirmation meanwhile): the draft is there to start later.
      if (e instanceof ServiceError) return { error: { code: e.code, message: `“${made.name}” was made as a draft but did not start: ${e.message}` }, draft: made.id };
      throw e;
    }
    return redirect(`/campaigns/${made.id}`);
  } catch (e) {
    return refused(e);
  }
}

/** Hidden inputs for choices a step's form carries along. */
function Carry({ draft }: { draft: Draft }) {
  return (
    <>
      {Object.entries(draft).map(([field, value]) => <input key={field} type="hidden" name={field} value={value} />)}
    </>
  );
}

function Stepper({ step, draft }: { step: Step; draft: Draft }) {
  const at = STEPS.indexOf(step);
  return (
    <ol className="steps" aria-label="Steps">
      {STEPS.map((s, i) => (
        <li key={s} aria-current={s === step ? "step" : undefined} className={i < at ? "done" : undefined}>
          {i < at ? <Link to={stepUrl(draft, s)}>{i + 1}. {STEP_LABEL[s]}</Link> : <span>{i + 1}. {STEP_LABEL[s]}</span>}
        </li>
      ))}
    </ol>
  );
}

function SoFar({ chosen }: { chosen: Chosen }) {
  if (!chosen.job) return null;
  return (
    <dl className="evidence so-far" aria-label="Chosen so far">
      <dt>List</dt>
      <dd>{chosen.job.name} ({fmt(chosen.job.counts.deliverable)} deliverable, {fmt(chosen.job.counts.risky)} risky)</dd>
      {chosen.sender && (<><dt>From</dt><dd>{chosen.sender.from_name} &lt;{chosen.sender.from_email}&gt;</dd></>)}
      {chosen.template && (<><dt>Template</dt><dd>{chosen.template.name}</dd></>)}
      {chosen.schedule && (<><dt>When</dt><dd>{chosen.schedule.sendAt ? utc(chosen.schedule.sendAt) : "as soon as it starts"}</dd></>)}
    </dl>
  );
}

function PreviewPane({ preview }: { preview: TemplatePreview | { error: string } | null }) {
  if (!preview) return null;
  if ("error" in preview) return <div className="alert error" role="alert">This template does not render: {preview.error}</div>;
  return (
    <section className="card" aria-labelledby="preview-title">
      <h2 id="preview-title">Preview, for the list's first deliverable address</h2>
      <p><span className="muted">Subject:</span> <strong data-testid="preview-subject">{preview.subject}</strong></p>
      {/* sandbox="": the message's HTML runs no script and reaches nothing of this page. */}
      <iframe title="The message as its first recipient gets it" className="preview" sandbox="" srcDoc={preview.html} />
      <details>
        <summary>Text part</summary>
        <pre className="preview-text">{preview.text}</pre>
      </details>
    </section>
  );
}

export default function NewCampaign() {
  const data = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const { step, draft, chosen } = data;
  const failure = answer && "error" in answer ? answer.error.message : data.error;
  return (
    <>
      <div className="page-head">
        <div>
          <p><Link to="/campaigns">Campaigns</Link> /</p>
          <h1>New campaign</h1>
        </div>
      </div>
      <Stepper step={step} draft={draft} />
      {failure && (
        <div className="alert error" role="alert">
          {failure} {answer && "draft" in answer && <Link to={`/campaigns/${answer.draft}`}>Open the draft</Link>}
        </div>
      )}
      <SoFar chosen={chosen} />
      {"jobs" in data && <ListStep jobs={data.jobs} draft={draft} />}
      {"senders" in data && <SenderStep senders={data.senders} draft={draft} />}
      {"templates" in data && <TemplateStep templates={data.templates} shown={data.shown} preview={data.preview} draft={draft} />}
      {step === "schedule" && <ScheduleStep draft={draft} risky={chosen.job!.counts.risky} maxRate={data.limits.rate} />}
      {step === "consent" && <ConsentStep draft={draft} maxSource={data.limits.source} />}
      {"estimate" in data && <ReviewStep data={data} busy={busy} />}
    </>
  );
}

function ListStep({ jobs, draft }: { jobs: JobView[]; draft: Draft }) {
  if (jobs.length === 0) {
    return (
      <section className="card empty">
        <p>No verified list yet. <Link to="/upload">Upload a list</Link> and let it verify: a campaign sends only to addresses that passed.</p>
      </section>
    );
  }
  return (
    <Form method="get" className="card">
      <fieldset className="choices">
        <legend>Which verified list?</legend>
        {jobs.map((j) => (
          <label key={j.id} className="choice">
            <input type="radio" name="job" value={j.id} required defaultChecked={draft.job === j.id} />
            <span>
              <strong>{j.name}</strong>
              <span className="muted"> · {fmt(j.counts.deliverable)} deliverable · {fmt(j.counts.risky)} risky · {fmt(j.unique)} addresses · verified {utc(j.finished_at)}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <Carry draft={others(draft, "list")} />
      <div className="row"><button className="btn primary" type="submit" name="step" value="sender">Continue</button></div>
    </Form>
  );
}

function SenderStep({ senders, draft }: { senders: SenderView[]; draft: Draft }) {
  const confirmed = senders.filter((s) => s.confirmed);
  const waiting = senders.length - confirmed.length;
  return (
    <Form method="get" className="card">
      <Carry draft={others(draft, "sender")} />
      {confirmed.length === 0 ? (
        <p className="empty">No confirmed sender yet. Add one on the <Link to="/senders">Senders</Link> page and follow the link in its confirmation message.</p>
      ) : (
        <fieldset className="choices">
          <legend>Send from</legend>
          {confirmed.map((s) => (
            <label key={s.id} className="choice">
              <input type="radio" name="sender" value={s.id} required defaultChecked={draft.sender === s.id} />
              <span>
                <strong>{s.from_name} &lt;{s.from_email}&gt;</strong>
                <span className="muted"> · {s.relay_ids.length === 1 ? "1 relay" : `${s.relay_ids.length} relays (failover, in order)`}{s.reply_to ? ` · replies to ${s.reply_to}` : ""}</span>
              </span>
            </label>
          ))}
        </fieldset>
      )}
      <p className="muted">
        Only confirmed senders send. {waiting > 0 && `${waiting} ${waiting === 1 ? "sender waits" : "senders wait"} for the link in its confirmation message. `}
        <Link to="/senders">Manage senders</Link>
      </p>
      <div className="row">
        <Link className="btn" to={stepUrl(draft, "list")}>Back</Link>
        <button className="btn primary" type="submit" name="step" value="template" disabled={confirmed.length === 0}>Continue</button>
      </div>
    </Form>
  );
}

function TemplateStep({ templates, shown, preview, draft }: { templates: TemplateView[]; shown: string | null; preview: TemplatePreview | { error: string } | null; draft: Draft }) {
  const submit = useSubmit();
  // The preview follows the choice at once: the form goes to this step again, replacing the entry.
  const follow = (e: FormEvent<HTMLFormElement>) => {
    if (!(e.target instanceof HTMLInputElement) || e.target.name !== "template") return;
    const form = new FormData(e.currentTarget);
    form.set("step", "template");
    submit(form, { method: "get", replace: true, preventScrollReset: true });
  };
  return (
    <>
      <Form method="get" className="card" onChange={follow}>
        <Carry draft={others(draft, "template")} />
        {templates.length === 0 ? (
          <p className="empty">No template yet. Write one on the <Link to="/templates">Templates</Link> page.</p>
        ) : (
          <fieldset className="choices">
            <legend>Which template?</legend>
            {templates.map((t) => (
              <label key={t.id} className="choice">
                <input type="radio" name="template" value={t.id} required defaultChecked={t.id === shown} />
                <span><strong>{t.name}</strong><span className="muted"> · {t.subject}</span></span>
              </label>
            ))}
          </fieldset>
        )}
        <p className="muted"><Link to="/templates">Manage templates</Link></p>
        <div className="row">
          <Link className="btn" to={stepUrl(draft, "sender")}>Back</Link>
          <button className="btn" type="submit" name="step" value="template" disabled={templates.length === 0}>Preview</button>
          <button className="btn primary" type="submit" name="step" value="schedule" disabled={templates.length === 0}>Continue</button>
        </div>
      </Form>
      <PreviewPane preview={preview} />
    </>
  );
}

function ScheduleStep({ draft, risky, maxRate }: { draft: Draft; risky: number; maxRate: number }) {
  // The browser's offset from UTC, for the time it shows (unset without JavaScript: the time is UTC).
  const [tz, setTz] = useState(draft.tz ?? "");
  const [zone, setZone] = useState("UTC");
  useEffect(() => {
    const offset = new Date().getTimezoneOffset();
    setTz(String(offset));
    const east = -offset;
    setZone(`your browser's time, UTC${east >= 0 ? "+" : "−"}${String(Math.floor(Math.abs(east) / 60)).padStart(2, "0")}:${String(Math.abs(east) % 60).padStart(2, "0")}`);
  }, []);
  return (
    <Form method="get" className="card">
      <Carry draft={others(draft, "schedule")} />
      <input type="hidden" name="tz" value={tz} />
      <fieldset className="choices">
        <legend>When</legend>
        <label className="choice"><input type="radio" name="when" value="now" required defaultChecked={draft.when !== "later"} /> <span>As soon as it starts</span></label>
        <label className="choice"><input type="radio" name="when" value="later" defaultChecked={draft.when === "later"} /> <span>Not before a date and time</span></label>
      </fieldset>
      <div className="field">
        <label htmlFor="send_at">Date and time <span className="muted">({zone})</span></label>
        <input id="send_at" name="send_at" type="datetime-local" step={1} defaultValue={draft.send_at ?? ""} />
      </div>
      <div className="field">
        <label htmlFor="rate">Messages an hour at most <span className="muted">(optional: as fast as the relays' limits allow)</span></label>
        <input id="rate" name="rate" type="number" min={1} max={maxRate} step={1} defaultValue={draft.rate ?? ""} />
      </div>
      <label className="choice">
        <input type="checkbox" name="risky" value="1" defaultChecked={draft.risky === "1"} />
        <span>Also send to the {fmt(risky)} risky addresses <span className="muted">(accept-all domains, full mailboxes: more of them bounce)</span></span>
      </label>
      <div className="row">
        <Link className="btn" to={stepUrl(draft, "template")}>Back</Link>
        <button className="btn primary" type="submit" name="step" value="consent">Continue</button>
      </div>
    </Form>
  );
}

function ConsentStep({ draft, maxSource }: { draft: Draft; maxSource: number }) {
  return (
    <Form method="get" className="card">
      <Carry draft={others(draft, "consent")} />
      <p>Mail only people who expect it. This statement is kept with the campaign and in the audit log, with your name.</p>
      <fieldset className="choices">
        <legend>Why may these people be mailed?</legend>
        {(Object.entries(BASIS_LABEL) as [ConsentBasis, (typeof BASIS_LABEL)[ConsentBasis]][]).map(([basis, { title, hint }]) => (
          <label key={basis} className="choice">
            <input type="radio" name="basis" value={basis} required defaultChecked={draft.basis === basis} />
            <span><strong>{title}</strong> <span className="muted">{hint}</span></span>
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor="source">Where the list came from</label>
        <textarea id="source" name="source" rows={3} required maxLength={maxSource} defaultValue={draft.source ?? ""} placeholder="The newsletter sign-up form on example.com, double opt-in" />
      </div>
      <div className="row">
        <Link className="btn" to={stepUrl(draft, "schedule")}>Back</Link>
        <button className="btn primary" type="submit" name="step" value="review">Continue</button>
      </div>
    </Form>
  );
}

type ReviewData = Extract<SerializeFrom<typeof loader>, { estimate: unknown }>;

function ReviewStep({ data, busy }: { data: ReviewData; busy: boolean }) {
  const { draft, chosen, estimate, preview, name } = data;
  const { sender, template, schedule, consent } = chosen;
  const sendAt = schedule!.sendAt;
  const skipped = [
    [estimate.skipped.undeliverable, "undeliverable"],
    [estimate.skipped.unknown, "unknown"],
    [estimate.skipped.risky, "risky (not included)"],
    [estimate.skipped.rules, "refused by your sending rules"],
    [estimate.suppressed, "on the suppression list"],
  ] as const;
  return (
    <Form method="post" className="card" aria-labelledby="review-title">
      <h2 id="review-title">What will be sent</h2>
      <Carry draft={others(draft, "review")} />
      <div className="field">
        <label htmlFor="name">Campaign name</label>
        <input id="name" name="name" type="text" required maxLength={MAX_NAME} defaultValue={name} />
      </div>
      <dl className="evidence">
        <dt>Recipients</dt>
        <dd><strong data-testid="audience-estimate">{fmt(estimate.audience)}</strong> (an estimate: your <Link to="/rules">sending rules</Link> and the suppression list are read again when sending begins)</dd>
        <dt>Not sent to</dt>
        <dd data-testid="skipped">{skipped.map(([n, why]) => `${fmt(n)} ${why}`).join(" · ")}</dd>
        <dt>From</dt>
        <dd>{sender!.from_name} &lt;{sender!.from_email}&gt;{sender!.reply_to ? `, replies to ${sender!.reply_to}` : ""}</dd>
        <dt>Subject</dt>
        <dd>
          <span className="mono">{template!.subject}</span>
          {!("error" in preview) && <> · for the first address: <strong data-testid="review-subject">{preview.subject}</strong></>}
        </dd>
        <dt>When</dt>
        <dd>{sendAt ? `not before ${utc(sendAt)}` : "as soon as it starts"}{sendAt && Date.parse(sendAt) < Date.now() ? " (already past: it sends at once)" : ""}</dd>
        <dt>Pace</dt>
        <dd>{schedule!.ratePerHour ? `at most ${fmt(schedule!.ratePerHour)} messages an hour` : "as fast as the relays' limits allow"}</dd>
        <dt>Consent</dt>
        <dd>{BASIS_LABEL[consent!.basis].title}: {consent!.source}</dd>
      </dl>
      {estimate.audience === 0 && <div className="alert warn">No address of this list would be sent to.</div>}
      <p className="muted">Every message carries a one-click unsubscribe link (RFC 8058) and its address joins the suppression list when it is used.</p>
      <div className="row">
        <Link className="btn" to={stepUrl(draft, "consent")}>Back</Link>
        <button className="btn primary" type="submit" disabled={busy}>Create and start</button>
      </div>
    </Form>
  );
}
