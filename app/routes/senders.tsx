// Senders (issue 23): the account's SMTP relays (add, change, test, delete; a password goes in and
// never comes back) and its senders (a From identity with its relays in failover order, confirmed
// through a link sent to its From address, with its domain's bulk-sender checklist). Owners and
// admins only, as API keys and webhooks: relays hold credentials and senders speak for the account.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import { RELAY_SECURITIES, type RelaySecurity } from "../../core/enums.ts";
import { requireViewer } from "../auth.server.ts";
import { Badge, TableScroll, utc } from "../components/ui.tsx";
import { authorizeOr403, refused } from "../lib/actions.server.ts";
import { optionalNumber, optionalText, text, validated } from "../lib/forms.server.ts";
import { authorize } from "../lib/identity.server.ts";
import { createRelay, DEFAULT_PORTS, deleteRelay, listRelays, RelayCreateForm, RelayUpdateForm, testRelay, updateRelay } from "../lib/relays.server.ts";
import { checkSenderDomain, createSender, deleteSender, listSenders, MAX_SENDER_RELAYS, resendConfirmation, SenderCreateForm } from "../lib/senders.server.ts";

export const meta: MetaFunction = () => [{ title: "Senders · mxray" }];

/** Relays and senders an account keeps are few; one page shows them (the API pages past this). */
const LIST_LIMIT = 100;

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "keys:manage");
  const { services } = args.context;
  const who = { accountId: viewer.account.id, actor: viewer.user.id };
  const [relays, senders] = await Promise.all([listRelays(services, who, { limit: LIST_LIMIT }), listSenders(services, who, { limit: LIST_LIMIT })]);
  return {
    account: viewer.account.name,
    relays: relays.data,
    senders: senders.data,
    more: relays.next_cursor !== null || senders.next_cursor !== null,
    defaultPorts: DEFAULT_PORTS,
    maxSenderRelays: MAX_SENDER_RELAYS,
  };
}

/** The relay fields of a form as the API takes them (the password is never trimmed, and never echoed). */
function relayFields(form: FormData) {
  const password = form.get("password");
  return {
    name: text(form, "name"),
    host: text(form, "host"),
    port: optionalNumber(form, "port"),
    security: text(form, "security"),
    username: optionalText(form, "username"),
    password: typeof password === "string" && password !== "" ? password : undefined,
    max_per_minute: optionalNumber(form, "max_per_minute"),
    max_per_day: optionalNumber(form, "max_per_day"),
  };
}

const isSecurity = (v: string): v is RelaySecurity => (RELAY_SECURITIES as readonly string[]).includes(v);

/** Which form an answer belongs to, so it is shown beside it: "relay-new", "sender-new", or a relay's or sender's id. */
type At = string;

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const who = { accountId: viewer.account.id, actor: viewer.user.id };
  const form = await args.request.formData();
  const intent = String(form.get("intent") ?? "");
  const id = text(form, "id");
  const at: At = intent === "relay-create" ? "relay-new" : intent === "sender-create" ? "sender-new" : id;
  try {
    authorize(viewer, "keys:manage");
    switch (intent) {
      case "relay-create": {
        const { port, password, ...fields } = relayFields(form);
        const input = validated(RelayCreateForm, { ...fields, ...(port === undefined ? {} : { port }), ...(password === undefined ? {} : { password }) });
        const relay = await createRelay(services, who, input);
        return { at, ok: `Relay ${relay.name} was added. Test it to see that a probe can reach it and sign in.` };
      }
      case "relay-update": {
        const { port, password, username, ...fields } = relayFields(form);
        const security = isSecurity(fields.security) ? fields.security : undefined;
        // No username: neither is sent (a relay that trusts the probe's address), so the password goes too.
        const patch = validated(RelayUpdateForm, {
          ...fields,
          port: port ?? (security ? DEFAULT_PORTS[security] : undefined),
          username,
          ...(username === null ? { password: null } : password === undefined ? {} : { password }),
        });
        const relay = await updateRelay(services, who, { id, patch });
        return { at, ok: `Relay ${relay.name} was saved.` };
      }
      case "relay-test": {
        const result = await testRelay(services, who, { id });
        return { at, test: { ok: result.ok, stage: result.stage, detail: result.detail } };
      }
      case "relay-delete":
        await deleteRelay(services, who, { id });
        return { at: "relays", ok: "The relay was deleted." };
      case "sender-create": {
        const relayIds = form.getAll("relayIds").map(String).filter((r) => r !== "");
        const input = validated(SenderCreateForm, {
          from_email: text(form, "from_email"),
          from_name: text(form, "from_name"),
          reply_to: optionalText(form, "reply_to"),
          relay_ids: relayIds,
          bounce_domain: optionalText(form, "bounce_domain"),
          dkim_selector: optionalText(form, "dkim_selector"),
        });
        const sender = await createSender(services, who, input);
        return {
          at,
          ok: sender.confirmation.sent
            ? `${sender.from_email} was added. A confirmation message went to it (${sender.confirmation.detail}): open the link in it to confirm the sender.`
            : `${sender.from_email} was added, but its confirmation message could not be sent (${sender.confirmation.detail}). Send it again below.`,
        };
      }
      case "sender-resend": {
        const sender = await resendConfirmation(services, who, { id });
        if (!sender.confirmation.sent) return { at, error: { code: "relay_refused", message: `The confirmation message could not be sent: ${sender.confirmation.detail}` } };
        return { at, ok: `The confirmation message went to ${sender.from_email} again (${sender.confirmation.detail}).` };
      }
      case "sender-check": {
        const sender = await checkSenderDomain(services, who, { id });
        return { at, ok: `The domain of ${sender.from_email} was checked again.` };
      }
      case "sender-delete":
        await deleteSender(services, who, { id });
        return { at: "senders", ok: "The sender was deleted." };
      default:
        return { at, error: { code: "bad_request", message: "Unknown request." } };
    }
  } catch (e) {
    return { at, ...refused(e) };
  }
}

type Data = ReturnType<typeof useLoaderData<typeof loader>>;
type Relay = Data["relays"][number];
type Sender = Data["senders"][number];
type Answer = ReturnType<typeof useActionData<typeof action>>;

/** The answer to the form at `at`, shown beside it. */
function Notice({ answer, at }: { answer: Answer; at: At }) {
  if (!answer || answer.at !== at) return null;
  if ("error" in answer && answer.error) return <div className="alert error" role="alert">{answer.error.message}</div>;
  if ("ok" in answer && answer.ok) return <div className="alert ok" role="status">{answer.ok}</div>;
  return null;
}

/** A new-item form starts empty again once what it sent was added. */
const resetKey = (answer: Answer, at: At) => (answer?.at === at && "ok" in answer ? answer.ok : at);

const SECURITY_LABEL: Record<RelaySecurity, string> = {
  starttls: "STARTTLS (usually port 587)",
  tls: "TLS from the first byte (usually port 465)",
  none: "None (a relay on your own network; never with a password)",
};

function RelayForm({ relay, defaultPorts, busy }: { relay?: Relay; defaultPorts: Data["defaultPorts"]; busy: boolean }) {
  const p = relay ? relay.id : "relay-new";
  return (
    <Form method="post" aria-label={relay ? `Settings of ${relay.name}` : "New relay"}>
      {relay && <input type="hidden" name="id" value={relay.id} />}
      <div className="row">
        <div className="grow">
          <label htmlFor={`${p}-name`}>Name</label>
          <input id={`${p}-name`} name="name" type="text" required maxLength={100} defaultValue={relay?.name} placeholder="Postmark" />
        </div>
        <div className="grow">
          <label htmlFor={`${p}-host`}>Host</label>
          <input id={`${p}-host`} name="host" type="text" required maxLength={255} defaultValue={relay?.host} placeholder="smtp.postmarkapp.com" autoComplete="off" />
        </div>
        <div>
          <label htmlFor={`${p}-port`}>Port</label>
          <input id={`${p}-port`} name="port" type="number" min={1} max={65535} defaultValue={relay?.port} placeholder={String(defaultPorts.starttls)} style={{ width: "7rem" }} />
        </div>
        <div>
          <label htmlFor={`${p}-security`}>Security</label>
          <select id={`${p}-security`} name="security" defaultValue={relay?.security ?? "starttls"} style={{ width: "auto" }}>
            {RELAY_SECURITIES.map((s) => <option key={s} value={s}>{SECURITY_LABEL[s]}</option>)}
          </select>
        </div>
      </div>
      <div className="row" style={{ marginTop: ".6rem" }}>
        <div className="grow">
          <label htmlFor={`${p}-username`}>Username</label>
          <input id={`${p}-username`} name="username" type="text" maxLength={256} defaultValue={relay?.username ?? ""} autoComplete="off" />
        </div>
        <div className="grow">
          <label htmlFor={`${p}-password`}>{relay?.has_password ? "Change password" : relay ? "Set password" : "Password"}</label>
          {/* Write-only: the page never holds the stored password, only whether one is set. */}
          <input id={`${p}-password`} name="password" type="password" maxLength={1024} autoComplete="new-password" aria-describedby={`${p}-password-hint`} />
        </div>
        <div>
          <label htmlFor={`${p}-per-minute`}>Max per minute</label>
          <input id={`${p}-per-minute`} name="max_per_minute" type="number" min={1} required defaultValue={relay?.max_per_minute ?? 60} style={{ width: "8rem" }} />
        </div>
        <div>
          <label htmlFor={`${p}-per-day`}>Max per day</label>
          <input id={`${p}-per-day`} name="max_per_day" type="number" min={1} required defaultValue={relay?.max_per_day ?? 10_000} style={{ width: "9rem" }} />
        </div>
      </div>
      <p id={`${p}-password-hint`} className="muted hint">
        {relay?.has_password ? "A password is set; leave the password blank to keep it. Clear the username to remove both." : "The password is stored encrypted and never shown again. Give it with the username, or neither."}
      </p>
      <div className="row" style={{ marginTop: ".75rem" }}>
        <button className="btn primary" type="submit" name="intent" value={relay ? "relay-update" : "relay-create"} disabled={busy}>{relay ? "Save relay" : "Add relay"}</button>
      </div>
    </Form>
  );
}

const STAGE_WORDS = { connect: "connecting", tls: "the TLS upgrade", auth: "authentication", done: "the end" } as const;

function RelayCard({ relay, answer, defaultPorts, busy }: { relay: Relay; answer: Answer; defaultPorts: Data["defaultPorts"]; busy: boolean }) {
  const test = answer && answer.at === relay.id && "test" in answer ? answer.test : null;
  return (
    <article className="item" aria-label={`Relay ${relay.name}`} data-relay={relay.id}>
      <div className="item-head">
        <div>
          <h3>{relay.name}</h3>
          <div className="mono">{relay.host}:{relay.port}</div>
          <div className="muted">
            {relay.security === "none" ? "no TLS" : relay.security.toUpperCase()} · {relay.username ? <>user <span className="mono">{relay.username}</span>, password {relay.has_password ? "set" : "not set"}</> : "no authentication"} ·{" "}
            {relay.max_per_minute.toLocaleString("en")}/minute, {relay.max_per_day.toLocaleString("en")}/day
          </div>
        </div>
        <div className="row" style={{ gap: ".4rem" }}>
          <Form method="post">
            <input type="hidden" name="id" value={relay.id} />
            <button className="btn small" type="submit" name="intent" value="relay-test" disabled={busy} aria-label={`Test ${relay.name}`}>Test</button>
          </Form>
          <details>
            <summary className="btn small danger" aria-label={`Delete ${relay.name}`}>Delete</summary>
            <Form method="post">
              <input type="hidden" name="id" value={relay.id} />
              <button className="btn small danger" type="submit" name="intent" value="relay-delete" aria-label={`Delete relay ${relay.name} for good`}>Delete it</button>
            </Form>
          </details>
        </div>
      </div>
      {test ? (
        <div className={`alert ${test.ok ? "ok" : "error"}`} role="status" aria-label={`Test of ${relay.name}`}>
          {test.ok ? "Passed" : "Failed"}: stage <strong data-testid="relay-stage">{test.stage}</strong>
          {test.ok ? " (connected, upgraded and signed in; nothing was sent)" : ` (stopped at ${STAGE_WORDS[test.stage]})`}
          <div className="mono">{test.detail}</div>
        </div>
      ) : (
        relay.tested_at && (
          <p className="muted">
            Last test {utc(relay.tested_at)}: {relay.test_ok ? "passed" : "failed"}{relay.test_detail && <> · <span className="mono">{relay.test_detail}</span></>}
          </p>
        )
      )}
      <Notice answer={answer} at={relay.id} />
      <details className="edit">
        <summary aria-label={`Edit ${relay.name}`}>Edit</summary>
        <RelayForm relay={relay} defaultPorts={defaultPorts} busy={busy} />
      </details>
    </article>
  );
}

const CHECK_LABEL: Record<Sender["checklist"]["items"][number]["check"], string> = { spf: "SPF", dkim: "DKIM", dmarc: "DMARC", bounce_mx: "Bounce MX" };

function Checklist({ sender }: { sender: Sender }) {
  const { items, checked_at } = sender.checklist;
  if (items.length === 0) return <p className="muted">The domain has not been checked yet (no probe was online); check it again.</p>;
  return (
    <TableScroll label={`Domain checklist of ${sender.from_email}`}>
      <table aria-label={`Domain checklist of ${sender.from_email}`}>
        <thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Asked</th><th scope="col">Answer seen</th></tr></thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.check} data-check={item.check}>
              <th scope="row">{CHECK_LABEL[item.check]}</th>
              <td><Badge value={item.status} /><div className="muted">{item.detail}</div></td>
              <td className="mono">{item.name}</td>
              <td className="mono" style={{ wordBreak: "break-all" }}>{item.seen.length ? item.seen.map((s, i) => <div key={i}>{s}</div>) : <span className="muted">no answer</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Checked {utc(checked_at)} against Gmail's and Yahoo's bulk-sender rules.</p>
    </TableScroll>
  );
}

function SenderCard({ sender, relayNames, answer, busy }: { sender: Sender; relayNames: Map<string, string>; answer: Answer; busy: boolean }) {
  return (
    <article className="item" aria-label={`Sender ${sender.from_email}`} data-sender={sender.id}>
      <div className="item-head">
        <div>
          <h3>{sender.from_name} <span className="mono">&lt;{sender.from_email}&gt;</span></h3>
          <div>
            {sender.confirmed ? (
              <span className="badge confirmed">confirmed</span>
            ) : (
              <>
                <span className="badge unconfirmed">not confirmed</span>{" "}
                <span className="muted">{sender.confirmation_sent_at ? `confirmation sent ${utc(sender.confirmation_sent_at)}` : "no confirmation message has gone yet"}</span>
              </>
            )}
          </div>
          <dl className="evidence" style={{ marginTop: ".5rem" }}>
            <dt>Relays, in failover order</dt>
            <dd>{sender.relay_ids.map((r, i) => <span key={r}>{i > 0 && " → "}{relayNames.get(r) ?? r}</span>)}</dd>
            <dt>Reply-To</dt><dd>{sender.reply_to ?? "—"}</dd>
            <dt>Bounce domain</dt><dd className="mono">{sender.bounce_domain}</dd>
            <dt>DKIM selector</dt><dd className="mono">{sender.dkim_selector ?? "—"}</dd>
          </dl>
        </div>
        <div className="row" style={{ gap: ".4rem" }}>
          <Form method="post">
            <input type="hidden" name="id" value={sender.id} />
            {!sender.confirmed && <button className="btn small" type="submit" name="intent" value="sender-resend" disabled={busy} aria-label={`Resend confirmation to ${sender.from_email}`}>Resend confirmation</button>}
            <button className="btn small" type="submit" name="intent" value="sender-check" disabled={busy} aria-label={`Check the domain of ${sender.from_email} again`}>Check again</button>
          </Form>
          <details>
            <summary className="btn small danger" aria-label={`Delete ${sender.from_email}`}>Delete</summary>
            <Form method="post">
              <input type="hidden" name="id" value={sender.id} />
              <button className="btn small danger" type="submit" name="intent" value="sender-delete" aria-label={`Delete sender ${sender.from_email} for good`}>Delete it</button>
            </Form>
          </details>
        </div>
      </div>
      <Notice answer={answer} at={sender.id} />
      <Checklist sender={sender} />
    </article>
  );
}

function SenderForm({ relays, maxSenderRelays, busy }: { relays: Relay[]; maxSenderRelays: number; busy: boolean }) {
  // The pool in order, one choice a place: the first relay, then each to fall back to.
  const places = Math.min(relays.length, maxSenderRelays);
  return (
    <Form method="post" aria-label="New sender">
      <div className="row">
        <div className="grow">
          <label htmlFor="sender-email">From email</label>
          <input id="sender-email" name="from_email" type="email" required maxLength={254} placeholder="news@example.com" />
        </div>
        <div className="grow">
          <label htmlFor="sender-name">From name</label>
          <input id="sender-name" name="from_name" type="text" required maxLength={100} placeholder="Example News" />
        </div>
        <div className="grow">
          <label htmlFor="sender-reply-to">Reply-To</label>
          <input id="sender-reply-to" name="reply_to" type="email" maxLength={254} placeholder="optional" />
        </div>
      </div>
      <fieldset className="plain">
        <legend>Relays, in failover order</legend>
        <div className="row">
          {Array.from({ length: places }, (_, i) => (
            <div key={i}>
              <label htmlFor={`sender-relay-${i + 1}`}>{i === 0 ? "First relay" : `If that fails (${i + 1})`}</label>
              <select id={`sender-relay-${i + 1}`} name="relayIds" defaultValue={i === 0 ? relays[0]?.id : ""} required={i === 0} style={{ width: "auto" }}>
                {i > 0 && <option value="">—</option>}
                {relays.map((r) => <option key={r.id} value={r.id}>{r.name} ({r.host})</option>)}
              </select>
            </div>
          ))}
        </div>
        <p className="muted hint">A batch goes through the first relay; a refusal or a connection failure moves it to the next. Relays are a failover pool, never a way to spread volume past a provider's limits.</p>
      </fieldset>
      <div className="row">
        <div className="grow">
          <label htmlFor="sender-bounce">Bounce domain</label>
          <input id="sender-bounce" name="bounce_domain" type="text" maxLength={253} placeholder="the From domain" />
        </div>
        <div className="grow">
          <label htmlFor="sender-dkim">DKIM selector</label>
          <input id="sender-dkim" name="dkim_selector" type="text" maxLength={63} placeholder="the selector your relay signs with, e.g. pm" />
        </div>
        <button className="btn primary" type="submit" name="intent" value="sender-create" disabled={busy}>Add sender</button>
      </div>
    </Form>
  );
}

export default function Senders() {
  const { account, relays, senders, more, defaultPorts, maxSenderRelays } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const relayNames = new Map(relays.map((r) => [r.id, r.name]));
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Senders</h1>
          <p>The relays {account} sends campaigns through, and the addresses it sends from. See the <a href="/docs">API reference</a> for the same through the API.</p>
        </div>
      </div>
      {more && <div className="alert warn">Only the newest {LIST_LIMIT} relays and senders are shown; the API lists them all.</div>}
      <section className="card" aria-labelledby="relays-title">
        <h2 id="relays-title">Relays</h2>
        <p className="muted">Your own SMTP relays (SES, SendGrid, Postmark, Mailgun, Gmail or Microsoft 365 submission, your Postfix). Limits hold across every probe.</p>
        <Notice answer={answer} at="relays" />
        {relays.length === 0 ? <p className="empty">No relays yet.</p> : relays.map((r) => <RelayCard key={r.id} relay={r} answer={answer} defaultPorts={defaultPorts} busy={busy} />)}
        <h3>Add a relay</h3>
        <Notice answer={answer} at="relay-new" />
        <RelayForm key={resetKey(answer, "relay-new")} defaultPorts={defaultPorts} busy={busy} />
      </section>
      <section className="card" aria-labelledby="senders-title">
        <h2 id="senders-title">Senders</h2>
        <p className="muted">A campaign sends only from a confirmed sender: a message with a link goes to its From address through its relays.</p>
        <Notice answer={answer} at="senders" />
        {senders.length === 0 ? <p className="empty">No senders yet.</p> : senders.map((s) => <SenderCard key={s.id} sender={s} relayNames={relayNames} answer={answer} busy={busy} />)}
        <h3>Add a sender</h3>
        <Notice answer={answer} at="sender-new" />
        {relays.length === 0 ? <p className="muted">Add a relay first: a sender sends through one or more of them.</p> : <SenderForm key={resetKey(answer, "sender-new")} relays={relays} maxSenderRelays={maxSenderRelays} busy={busy} />}
      </section>
    </>
  );
}
