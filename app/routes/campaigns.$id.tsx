// A campaign, live: its status (and why it paused or failed), sent of audience and every count,
// pushed over the campaign's WebSocket (reconnecting by itself); start, pause, resume and cancel as
// its status allows; what it sends with and its consent statement; and its recipients in pages,
// filtered by status, each with what the relay answered, the verification evidence that let
// the address in, and the hard bounce or complaint that came back for it (linked to the bounce).
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, useRevalidator, useSearchParams, type MetaFunction } from "@remix-run/react";
import { useEffect } from "react";
import { RECIPIENT_STATUSES, type CampaignStatus, type RecipientStatus } from "../../core/enums.ts";
import type { CampaignProgress } from "../../core/live.ts";
import { can } from "../../core/roles.ts";
import { requireViewer } from "../auth.server.ts";
import { Reason } from "../components/reason.tsx";
import { Badge, fmt, ProgressBar, replyText, TableScroll, utc } from "../components/ui.tsx";
import { refused, ServiceError } from "../lib/actions.server.ts";
import { BASIS_LABEL } from "../lib/campaignflow.ts";
import {
  campaignOr404,
  cancelCampaign,
  getCampaign,
  getJob,
  getSender,
  getTemplate,
  listRecipients,
  listRelays,
  mintLiveToken,
  orNull,
  pageOr400,
  pauseCampaign,
  resumeCampaign,
  startCampaign,
} from "../lib/campaigns.server.ts";
import { bouncesOfRecipients } from "../lib/bounces.server.ts";
import { authorize } from "../lib/identity.server.ts";
import { useCampaignLive } from "../lib/useCampaignLive.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.campaign.name ?? "Campaign"} · mxray` }];

const RECIPIENTS_PAGE_SIZE = 25;

const isRecipientStatus = (s: string | null): s is RecipientStatus => (RECIPIENT_STATUSES as readonly (string | null)[]).includes(s);

/** What the owner may do to a campaign in each status. */
const ACTIONS: Record<CampaignStatus, readonly ("start" | "pause" | "resume" | "cancel")[]> = {
  draft: ["start", "cancel"],
  verifying: ["pause", "cancel"],
  scheduled: ["pause", "cancel"],
  sending: ["pause", "cancel"],
  paused: ["resume", "cancel"],
  completed: [],
  canceled: [],
  failed: [],
};

const COUNTS: { key: keyof CampaignProgress["counts"]; label: string; hint: string }[] = [
  { key: "audience", label: "Audience", hint: "Recipients: the list's sendable addresses not suppressed" },
  { key: "sent", label: "Sent", hint: "Accepted by a relay" },
  { key: "failed", label: "Failed", hint: "Refused for good by the relay, or not sent after every attempt" },
  { key: "unknown_outcome", label: "Unknown outcome", hint: "Handed to a relay whose answer was lost: never sent again" },
  { key: "suppressed", label: "Suppressed", hint: "On the suppression list" },
  { key: "skipped_unverified", label: "Skipped", hint: "Undeliverable, unknown, and risky unless included" },
  { key: "unsubscribed", label: "Unsubscribed", hint: "Used the one-click link" },
  { key: "bounced", label: "Bounced", hint: "Bounced after the relay took it" },
];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const campaign = await campaignOr404(() => getCampaign(services, viewer, args.params.id!));
  const url = new URL(args.request.url);
  const status = url.searchParams.get("status");
  const cursor = url.searchParams.get("cursor") || undefined;
  const [recipients, job, sender, template, relays, live] = await Promise.all([
    pageOr400(() => listRecipients(services, viewer, { campaignId: campaign.id, status: isRecipientStatus(status) ? status : undefined, limit: RECIPIENTS_PAGE_SIZE, cursor })),
    orNull(() => getJob(services, viewer, campaign.job_id)),
    orNull(() => getSender(services, viewer, campaign.sender_id)),
    orNull(() => getTemplate(services, viewer, campaign.template_id)),
    listRelays(services, viewer, { limit: 100 }),
    mintLiveToken(services, viewer, { campaignId: campaign.id, holder: viewer.holder }),
  ]);
  const { id, status: now, status_reason, counts, updated_at } = campaign;
  return {
    campaign,
    progress: { id, status: now, status_reason, counts, updated_at } satisfies CampaignProgress,
    recipients,
    bounceIds: await bouncesOfRecipients(services, viewer, campaign.id, recipients.data),
    paged: cursor !== undefined,
    job: job && { id: job.id, name: job.name },
    sender: sender && { from_name: sender.from_name, from_email: sender.from_email, reply_to: sender.reply_to },
    template: template && { name: template.name, subject: template.subject },
    relayNames: Object.fromEntries(relays.data.map((r) => [r.id, r.name])),
    live,
    canSend: can(viewer.account.role, "campaigns:send"),
  };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const intent = (await args.request.formData()).get("intent");
  const id = args.params.id!;
  try {
    authorize(viewer, "campaigns:send");
    const moves = { start: startCampaign, pause: pauseCampaign, resume: resumeCampaign, cancel: cancelCampaign } as const;
    const move = moves[intent as keyof typeof moves];
    if (!move) throw new ServiceError("validation_failed", "Unknown action.");
    const after = await campaignOr404(() => move(services, viewer, id));
    return { ok: `The campaign is ${after.status}.` };
  } catch (e) {
    return refused(e);
  }
}

const BUTTON: Record<"start" | "pause" | "resume" | "cancel", string> = { start: "Start", pause: "Pause", resume: "Resume", cancel: "Cancel campaign" };

export default function CampaignPage() {
  const { campaign, progress, recipients, bounceIds, paged, job, sender, template, relayNames, live: token, canSend } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const revalidator = useRevalidator();
  const [params] = useSearchParams();
  const live = useCampaignLive(progress, token.token);
  const current = live.campaign;
  const { counts } = current;

  // When the status moves (it began, paused, ended), read the recipients again once.
  useEffect(() => {
    if (current.status !== campaign.status && revalidator.state === "idle") revalidator.revalidate();
  }, [current.status, campaign.status, revalidator]);

  const share = counts.audience > 0 ? counts.sent / counts.audience : 0;
  const nextLink = (next: string) => {
    const p = new URLSearchParams(params);
    p.set("cursor", next);
    return `?${p}`;
  };
  const firstLink = () => {
    const p = new URLSearchParams(params);
    p.delete("cursor");
    return `?${p}`;
  };
  const failure = answer && "error" in answer ? answer.error.message : null;

  return (
    <>
      <div className="page-head">
        <div>
          <p><Link to="/campaigns">Campaigns</Link> /</p>
          <h1>{campaign.name}</h1>
          <p>
            <span data-testid="campaign-status"><Badge value={current.status} /></span> ·{" "}
            <span className={`live${live.state === "live" ? " on" : ""}`} role="status" aria-live="polite">
              {live.state === "live" ? "Live" : live.state === "reconnecting" ? "Reconnecting…" : live.state === "connecting" ? "Connecting…" : "Finished"}
            </span>
          </p>
        </div>
        {canSend && ACTIONS[current.status].length > 0 && (
          <Form method="post" className="row" onSubmit={(e) => {
            const submitter = (e.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
            if (submitter?.value === "cancel" && !confirm(`Cancel “${campaign.name}”? Nothing more is sent.`)) e.preventDefault();
          }}>
            {ACTIONS[current.status].map((a) => (
              <button key={a} className={`btn${a === "cancel" ? " danger" : a === "start" || a === "resume" ? " primary" : ""}`} type="submit" name="intent" value={a} disabled={busy}>{BUTTON[a]}</button>
            ))}
          </Form>
        )}
      </div>
      {failure && <div className="alert error" role="alert">{failure}</div>}
      {current.status_reason && (
        <div className={`alert ${current.status === "failed" ? "error" : "warn"}`} data-testid="status-reason">
          {current.status === "failed" ? "Failed: " : "Paused: "}{current.status_reason}
        </div>
      )}

      <section className="card" aria-labelledby="progress-title">
        <h2 id="progress-title">Progress</h2>
        <div className="row" style={{ justifyContent: "space-between", marginBottom: ".4rem" }}>
          <span><strong data-testid="sent-count">{fmt(counts.sent)}</strong> of <span data-testid="audience-count">{fmt(counts.audience)}</span> sent</span>
          <span className="muted">{Math.floor(share * 1000) / 10}%</span>
        </div>
        <ProgressBar value={share} label="Sent of audience" />
        <div className="stats" style={{ marginTop: "1rem" }}>
          {COUNTS.map(({ key, label, hint }) => (
            <div className="stat" key={key} title={hint}><div className="label">{label}</div><div className="value" data-testid={`count-${key}`}>{fmt(counts[key])}</div></div>
          ))}
        </div>
        {campaign.started_at !== null && <p><Link to={`/bounces?campaign_id=${campaign.id}`}>Every bounce of this campaign</Link>, soft ones too</p>}
      </section>

      <div className="grid">
        <section className="card" aria-labelledby="details-title">
          <h2 id="details-title">What it sends</h2>
          <dl className="evidence">
            <dt>List</dt><dd>{job ? <Link to={`/jobs/${job.id}`}>{job.name}</Link> : <span className="mono">{campaign.job_id} (deleted)</span>}</dd>
            <dt>From</dt><dd>{sender ? `${sender.from_name} <${sender.from_email}>` : <span className="mono">{campaign.sender_id} (deleted)</span>}</dd>
            <dt>Template</dt><dd>{template ? <>{template.name} <span className="muted">· {template.subject}</span></> : <span className="mono">{campaign.template_id} (deleted)</span>}</dd>
            <dt>When</dt><dd>{campaign.send_at ? `not before ${utc(campaign.send_at)}` : "as soon as it starts"}</dd>
            <dt>Pace</dt><dd>{campaign.rate_per_hour ? `at most ${fmt(campaign.rate_per_hour)} an hour` : "as fast as the relays' limits allow"}</dd>
            <dt>Risky addresses</dt><dd>{campaign.include_risky ? "included" : <>as your <Link to="/rules">sending rules</Link> say when sending begins</>}</dd>
            <dt>Started</dt><dd>{utc(campaign.started_at, "not yet")}</dd>
            <dt>Finished</dt><dd>{utc(campaign.finished_at, "not yet")}</dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="consent-title">
          <h2 id="consent-title">Consent statement</h2>
          <p data-testid="consent"><strong>{BASIS_LABEL[campaign.consent.basis].title}.</strong> {BASIS_LABEL[campaign.consent.basis].hint}</p>
          <p><span className="muted">Where the list came from:</span> {campaign.consent.source}</p>
          <p className="muted">Stated by <span className="mono">{campaign.created_by}</span> on {utc(campaign.created_at)}.</p>
        </section>
      </div>

      <section className="card" aria-labelledby="recipients-title">
        <h2 id="recipients-title">Recipients</h2>
        <Form method="get" className="row" style={{ marginBottom: ".75rem" }}>
          <div>
            <label htmlFor="status">Status</label>
            <select id="status" name="status" defaultValue={params.get("status") ?? ""}>
              <option value="">All</option>
              {RECIPIENT_STATUSES.map((s) => <option key={s} value={s}>{s.replace(/_/g, " ")}</option>)}
            </select>
          </div>
          <button className="btn" type="submit">Filter</button>
        </Form>
        {recipients.data.length === 0 ? (
          <p className="empty">{campaign.status === "draft" ? "Recipients are chosen from the list when sending begins." : params.get("status") ? "No recipient has this status." : "No recipients yet."}</p>
        ) : (
          <TableScroll label="Recipients">
            <table aria-label="Recipients">
              <thead>
                <tr>
                  <th scope="col">Address</th>
                  <th scope="col">Status</th>
                  <th scope="col">Verification</th>
                  <th scope="col" className="hide-sm">Relay</th>
                  <th scope="col" className="hide-sm">Queue id</th>
                  <th scope="col">Relay's answer</th>
                  <th scope="col">Bounce</th>
                </tr>
              </thead>
              <tbody>
                {recipients.data.map((r) => (
                  <tr key={r.id} data-status={r.status}>
                    <td className="mono">{r.email}</td>
                    <td><Badge value={r.status} /></td>
                    <td>{r.verdict ? <><Badge value={r.verdict} /> {r.reason && <Reason code={r.reason} />}</> : <span className="muted">list deleted</span>}</td>
                    <td className="hide-sm">{r.relay_id ? relayNames[r.relay_id] ?? <span className="mono">{r.relay_id}</span> : "—"}</td>
                    <td className="mono hide-sm">{r.queue_id ?? "—"}</td>
                    <td className="mono">{replyText(r.reply)}</td>
                    <td data-testid="recipient-bounce">
                      {r.bounce_kind ? (
                        <>
                          {bounceIds[r.id] ? <Link to={`/bounces/${bounceIds[r.id]}`} aria-label={`The ${r.bounce_kind} bounce of ${r.email}`}><Badge value={r.bounce_kind} /></Link> : <Badge value={r.bounce_kind} />}
                          <div className="muted">{utc(r.bounced_at)}</div>
                        </>
                      ) : "—"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
        {(paged || recipients.next_cursor) && (
          <nav className="pager" aria-label="Recipient pages">
            {paged && <Link className="btn small" to={firstLink()}>First page</Link>}
            {recipients.next_cursor ? <Link className="btn small" to={nextLink(recipients.next_cursor)}>Next</Link> : <span className="btn small" aria-disabled="true">Next</span>}
          </nav>
        )}
      </section>
    </>
  );
}
