// One bounce (issue 24): what the report said (action, status, diagnostic, the server that
// refused), whose it is (the address, its campaign), what it did, and the verification it is
// compared with (verdict, MX, the SMTP reply to RCPT TO): when it contradicted our `deliverable`
// verdict, the credit that came back. Then the message as read, as text (never as HTML).
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Link, useLoaderData, type MetaFunction } from "@remix-run/react";
import type { BounceKind } from "../../core/enums.ts";
import { requireViewer } from "../auth.server.ts";
import { RawMessage } from "../components/bounce.tsx";
import { Reason } from "../components/reason.tsx";
import { Badge, replyText, utc } from "../components/ui.tsx";
import { bounceOr404, getBounce } from "../lib/bounces.server.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.bounce.email ?? "Bounce"} · Bounces · mxray` }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  return { bounce: await bounceOr404(() => getBounce(args.context.services, viewer, args.params.id!)) };
}

/** What a bounce of each kind did to its address (edge/bounces/apply.ts). */
const DID: Record<BounceKind, string> = {
  hard: "The address is suppressed (bounced): no campaign of the account sends to it again.",
  complaint: "The address is suppressed (complained): no campaign of the account sends to it again.",
  soft: "The address's soft-bounce score grew (at most once a day); it is suppressed at the account's threshold.",
  unclassified: "Nothing: no rule could read this message, so it is kept for you to read and never guessed hard.",
};

const KIND_WORDS: Record<BounceKind, string> = { hard: "Hard bounce", soft: "Soft bounce", complaint: "Complaint", unclassified: "Unclassified bounce" };

export default function BouncePage() {
  const { bounce: b } = useLoaderData<typeof loader>();
  const v = b.verification;
  return (
    <>
      <div className="page-head">
        <div>
          <p><Link to="/bounces">Bounces</Link> /</p>
          <h1>{b.email}</h1>
          <p><Badge value={b.kind} /> {KIND_WORDS[b.kind]}{b.category && <> · {b.category.replace(/_/g, " ")}</>} · {utc(b.occurred_at)}</p>
        </div>
      </div>

      {b.refunded_job_id && (
        <div className="alert ok" role="status" data-testid="refund">
          Contradicted our <code>deliverable</code> verdict {v && v.job_id === b.refunded_job_id ? <>of {utc(v.verified_at)}</> : <>in <Link to={`/jobs/${b.refunded_job_id}`}>{b.refunded_job_id}</Link></>}:
          {" "}1 credit refunded.
        </div>
      )}

      <div className="grid">
        <section className="card" aria-labelledby="said-title">
          <h2 id="said-title">What it said</h2>
          <dl className="evidence">
            <dt>Action</dt><dd className="mono">{b.action ?? "—"}</dd>
            <dt>Status</dt><dd className="mono">{b.status ?? "—"}</dd>
            <dt>Diagnostic</dt><dd className="mono">{b.diagnostic ?? "—"}</dd>
            <dt>Remote MTA</dt><dd className="mono">{b.remote_mta ?? "—"}</dd>
            <dt>Came from</dt><dd>{b.source === "imap" ? <>a bounce mailbox <span className="mono muted">{b.mailbox_id}</span></> : "POST /api/v1/bounces"}</dd>
            <dt>Stored</dt><dd>{utc(b.created_at)}</dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="whose-title">
          <h2 id="whose-title">Recipient</h2>
          <dl className="evidence">
            <dt>Address</dt><dd className="mono">{b.email}</dd>
            <dt>Campaign</dt><dd>{b.campaign_id ? <Link to={`/campaigns/${b.campaign_id}`} className="mono">{b.campaign_id}</Link> : "not known"}</dd>
            {b.recipient_id !== null && (<><dt>Recipient</dt><dd className="mono">#{b.recipient_id}</dd></>)}
          </dl>
          <p>{DID[b.kind]}{(b.kind === "hard" || b.kind === "complaint") && <> <Link to={`/suppressions?email=${encodeURIComponent(b.email)}`}>See it on the list</Link>.</>}</p>
        </section>
      </div>

      <section className="card" aria-labelledby="verification-title">
        <h2 id="verification-title">Our verification</h2>
        {v ? (
          <dl className="evidence" aria-label="Verification evidence">
            <dt>Verdict</dt><dd><Badge value={v.verdict} /> <Reason code={v.reason} showCode /></dd>
            <dt>MX</dt><dd className="mono">{v.mx ?? "—"}</dd>
            <dt>SMTP reply</dt><dd className="mono">{replyText(v.smtp)}</dd>
            <dt>Enhanced code</dt><dd className="mono">{v.smtp?.enhanced ?? "—"}</dd>
            <dt>Verified</dt><dd>{utc(v.verified_at)} in <Link to={`/jobs/${v.job_id}`}>{v.job_id}</Link></dd>
          </dl>
        ) : (
          <p className="muted">No verification of this address is kept for the account (no campaign named, or its list was deleted).</p>
        )}
        {b.kind === "hard" && !b.refunded_job_id && (
          <p className="muted">
            No credit came back: only a hard bounce saying the mailbox does not exist (5.1.x), within 30 days of a <code>deliverable</code> verdict, contradicts us.
          </p>
        )}
      </section>

      <section className="card" aria-labelledby="raw-title">
        <h2 id="raw-title">The message</h2>
        <RawMessage raw={b.raw} truncated={b.raw_truncated} />
      </section>
    </>
  );
}
