// Bounces (issue 24): the account's bounce mailboxes (add, change, delete; test a login; read now),
// which a probe reads every few minutes, never deleting and moving only what is ours; the bounces
// they and POST /api/v1/bounces brought, newest first in pages, filtered by kind, address or
// campaign, each marked when it refunded a contradicted `deliverable` verdict; and the soft-bounce
// settings. Everyone in the account reads the bounces (as they read campaigns); mailboxes hold
// credentials and the settings change what is suppressed, so only owners and admins see and change
// those, as only they make the API keys that can (keys:manage, like /senders).
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import { BOUNCE_KINDS, RELAY_SECURITIES, type BounceKind, type RelaySecurity } from "../../core/enums.ts";
import { can } from "../../core/roles.ts";
import { requireViewer } from "../auth.server.ts";
import { Badge, fmt, TableScroll, utc } from "../components/ui.tsx";
import { refused } from "../lib/actions.server.ts";
import {
  createMailbox,
  DEFAULT_IMAP_PORTS,
  DEFAULT_PROCESSED_FOLDER,
  deleteMailbox,
  getBounceSettings,
  listBounces,
  listMailboxes,
  MailboxCreateForm,
  MailboxUpdateForm,
  pollMailbox,
  SOFT_RESET_DAYS,
  SOFT_THRESHOLD,
  testMailbox,
  updateBounceSettings,
  updateMailbox,
} from "../lib/bounces.server.ts";
import { pageOr400 } from "../lib/campaigns.server.ts";
import { optionalNumber, optionalText, text, validated } from "../lib/forms.server.ts";
import { authorize } from "../lib/identity.server.ts";

export const meta: MetaFunction = () => [{ title: "Bounces · mxray" }];

const PAGE = 50;
/** An account keeps a few bounce mailboxes; one page shows them (the API pages past this). */
const MAILBOX_LIMIT = 100;

const isKind = (v: string | null): v is BounceKind => (BOUNCE_KINDS as readonly (string | null)[]).includes(v);
const isSecurity = (v: string): v is RelaySecurity => (RELAY_SECURITIES as readonly string[]).includes(v);

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const params = new URL(args.request.url).searchParams;
  const kind = params.get("kind");
  const email = params.get("email")?.trim() || undefined;
  // Only what the page links to (the campaign page's recipients): anything else is ignored.
  const campaignId = /^cmp_\w{1,60}$/.test(params.get("campaign_id") ?? "") ? params.get("campaign_id")! : undefined;
  const cursor = params.get("cursor") || undefined;
  const canManage = can(viewer.account.role, "keys:manage");
  const [page, mailboxes, settings] = await Promise.all([
    pageOr400(() => listBounces(services, viewer, { limit: PAGE, cursor, kind: isKind(kind) ? kind : undefined, email, campaign_id: campaignId })),
    canManage ? listMailboxes(services, viewer, { limit: MAILBOX_LIMIT }) : null,
    getBounceSettings(services, viewer),
  ]);
  return {
    account: viewer.account.name,
    canManage,
    filter: { kind: isKind(kind) ? kind : "", email: email ?? "", campaign_id: campaignId ?? "" },
    bounces: page.data,
    nextCursor: page.next_cursor,
    paged: cursor !== undefined,
    mailboxes: mailboxes && { list: mailboxes.data, more: mailboxes.next_cursor !== null },
    settings,
    defaultPorts: DEFAULT_IMAP_PORTS,
    defaultProcessedFolder: DEFAULT_PROCESSED_FOLDER,
    softLimits: { threshold: SOFT_THRESHOLD, resetDays: SOFT_RESET_DAYS },
  };
}

/** The mailbox fields of a form as the API takes them (the password is never trimmed, and never echoed; blank keeps it). */
function mailboxFields(form: FormData) {
  const password = form.get("password");
  return {
    name: optionalText(form, "name"),
    host: text(form, "host"),
    port: optionalNumber(form, "port"),
    security: text(form, "security"),
    username: text(form, "username"),
    password: typeof password === "string" && password !== "" ? password : undefined,
    folder: optionalText(form, "folder"),
    // Blank: recognised messages are flagged where they are instead of moved.
    processed_folder: optionalText(form, "processed_folder"),
  };
}

/** A number field as typed ("2.5"), or as text for the schema to refuse. */
function decimal(form: FormData, name: string): number | undefined {
  const v = text(form, name);
  return v === "" ? undefined : Number(v);
}

/** Which form an answer belongs to, so it is shown beside it: "mailbox-new", "mailboxes", "settings", or a mailbox's id. */
type At = string;

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const form = await args.request.formData();
  const intent = String(form.get("intent") ?? "");
  const id = text(form, "id");
  const at: At = intent === "mailbox-create" ? "mailbox-new" : intent === "settings" ? "settings" : id;
  try {
    authorize(viewer, "keys:manage");
    switch (intent) {
      case "mailbox-create": {
        const { name, port, password, folder, ...fields } = mailboxFields(form);
        const input = validated(MailboxCreateForm, {
          ...fields,
          ...(name === null ? {} : { name }),
          ...(port === undefined ? {} : { port }),
          ...(folder === null ? {} : { folder }),
          password: password ?? "",
        });
        const mailbox = await createMailbox(services, viewer, input);
        return { at, ok: `Bounce mailbox ${mailbox.name} was added. Test it to see that a probe can sign in and open ${mailbox.folder}; a probe starts reading it within a minute.` };
      }
      case "mailbox-update": {
        const { name, port, password, folder, ...fields } = mailboxFields(form);
        const security = isSecurity(fields.security) ? fields.security : undefined;
        const patch = validated(MailboxUpdateForm, {
          ...fields,
          ...(name === null ? {} : { name }),
          port: port ?? (security ? DEFAULT_IMAP_PORTS[security] : undefined),
          ...(folder === null ? {} : { folder }),
          ...(password === undefined ? {} : { password }),
        });
        const mailbox = await updateMailbox(services, viewer, { id, patch });
        return { at, ok: `Bounce mailbox ${mailbox.name} was saved.` };
      }
      case "mailbox-test": {
        const result = await testMailbox(services, viewer, { id });
        return { at, test: result };
      }
      case "mailbox-poll": {
        const mailbox = await pollMailbox(services, viewer, { id });
        return { at, ok: `${mailbox.probe_id ?? "A probe"} is reading ${mailbox.folder} now; reload to see the outcome beside “Last read”.` };
      }
      case "mailbox-delete":
        await deleteMailbox(services, viewer, { id });
        return { at: "mailboxes", ok: "The bounce mailbox was deleted. The bounces read from it stay." };
      case "settings": {
        const settings = await updateBounceSettings(services, viewer, { soft_threshold: decimal(form, "soft_threshold"), soft_reset_days: decimal(form, "soft_reset_days") });
        return { at, ok: `Saved: an address is suppressed at a soft-bounce score of ${settings.soft_threshold}; a score starts over after ${settings.soft_reset_days} quiet days.` };
      }
      default:
        return { at, error: { code: "bad_request", message: "Unknown request." } };
    }
  } catch (e) {
    return { at, ...refused(e) };
  }
}

type Data = ReturnType<typeof useLoaderData<typeof loader>>;
type Mailbox = NonNullable<Data["mailboxes"]>["list"][number];
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
  tls: "TLS from the first byte (usually port 993)",
  starttls: "STARTTLS (usually port 143)",
  none: "None (a server on your own network only)",
};

/** What the forms need of the service's defaults and limits (the page's bundle holds no server module). */
type Defaults = Pick<Data, "defaultPorts" | "defaultProcessedFolder">;

function MailboxForm({ mailbox, defaults, busy }: { mailbox?: Mailbox; defaults: Defaults; busy: boolean }) {
  const p = mailbox ? mailbox.id : "mailbox-new";
  return (
    <Form method="post" aria-label={mailbox ? `Settings of ${mailbox.name}` : "New bounce mailbox"}>
      {mailbox && <input type="hidden" name="id" value={mailbox.id} />}
      <div className="row">
        <div className="grow">
          <label htmlFor={`${p}-name`}>Name</label>
          <input id={`${p}-name`} name="name" type="text" maxLength={100} defaultValue={mailbox?.name} placeholder="username on host" />
        </div>
        <div className="grow">
          <label htmlFor={`${p}-host`}>IMAP host</label>
          <input id={`${p}-host`} name="host" type="text" required maxLength={253} defaultValue={mailbox?.host} placeholder="imap.fastmail.com" autoComplete="off" />
        </div>
        <div>
          <label htmlFor={`${p}-port`}>Port</label>
          <input id={`${p}-port`} name="port" type="number" min={1} max={65535} defaultValue={mailbox?.port} placeholder={String(defaults.defaultPorts.tls)} style={{ width: "7rem" }} />
        </div>
        <div>
          <label htmlFor={`${p}-security`}>Security</label>
          <select id={`${p}-security`} name="security" defaultValue={mailbox?.security ?? "tls"} style={{ width: "auto" }}>
            {RELAY_SECURITIES.map((s) => <option key={s} value={s}>{SECURITY_LABEL[s]}</option>)}
          </select>
        </div>
      </div>
      <div className="row" style={{ marginTop: ".6rem" }}>
        <div className="grow">
          <label htmlFor={`${p}-username`}>Username</label>
          <input id={`${p}-username`} name="username" type="text" required maxLength={320} defaultValue={mailbox?.username} autoComplete="off" />
        </div>
        <div className="grow">
          <label htmlFor={`${p}-password`}>{mailbox ? "Change password" : "Password"}</label>
          {/* Write-only: the page never holds the stored password, only whether one is set. */}
          <input id={`${p}-password`} name="password" type="password" required={!mailbox} maxLength={1024} autoComplete="new-password" aria-describedby={`${p}-password-hint`} />
        </div>
        <div className="grow">
          <label htmlFor={`${p}-folder`}>Folder read</label>
          <input id={`${p}-folder`} name="folder" type="text" maxLength={200} defaultValue={mailbox?.folder ?? "INBOX"} />
        </div>
        <div className="grow">
          <label htmlFor={`${p}-processed`}>Move ours to</label>
          <input
            id={`${p}-processed`} name="processed_folder" type="text" maxLength={200} aria-describedby={`${p}-processed-hint`}
            defaultValue={mailbox ? (mailbox.processed_folder ?? "") : defaults.defaultProcessedFolder}
          />
        </div>
      </div>
      <p id={`${p}-password-hint`} className="muted hint">
        {mailbox ? "A password is set; leave it blank to keep it." : "An app password where your provider offers them. It is stored encrypted and never shown again."}
      </p>
      <p id={`${p}-processed-hint`} className="muted hint">
        Bounces, complaints and auto-replies to your campaigns are moved there once read; blank flags them where they are. Nothing else is moved, flagged or deleted.
      </p>
      <div className="row" style={{ marginTop: ".75rem" }}>
        <button className="btn primary" type="submit" name="intent" value={mailbox ? "mailbox-update" : "mailbox-create"} disabled={busy}>{mailbox ? "Save mailbox" : "Add mailbox"}</button>
      </div>
    </Form>
  );
}

const STAGE_WORDS = { connect: "connecting", tls: "the TLS upgrade", auth: "signing in", folder: "opening the folder", done: "the end" } as const;

function MailboxCard({ mailbox, answer, defaults, busy }: { mailbox: Mailbox; answer: Answer; defaults: Defaults; busy: boolean }) {
  const test = answer && answer.at === mailbox.id && "test" in answer ? answer.test : null;
  const m = mailbox;
  return (
    <article className="item" aria-label={`Bounce mailbox ${m.name}`} data-mailbox={m.id}>
      <div className="item-head">
        <div>
          <h3>{m.name}</h3>
          <div className="mono">{m.username} @ {m.host}:{m.port}</div>
          <div className="muted">
            {m.security === "none" ? "no TLS" : m.security.toUpperCase()} · reads <span className="mono">{m.folder}</span> ·{" "}
            {m.processed_folder ? <>moves ours to <span className="mono">{m.processed_folder}</span></> : "flags ours where they are"}
          </div>
        </div>
        <div className="row" style={{ gap: ".4rem" }}>
          <Form method="post">
            <input type="hidden" name="id" value={m.id} />
            <button className="btn small" type="submit" name="intent" value="mailbox-test" disabled={busy} aria-label={`Test ${m.name}`}>Test</button>{" "}
            <button className="btn small" type="submit" name="intent" value="mailbox-poll" disabled={busy} aria-label={`Check ${m.name} now`}>Check now</button>
          </Form>
          <details>
            <summary className="btn small danger" aria-label={`Delete ${m.name}`}>Delete</summary>
            <Form method="post">
              <input type="hidden" name="id" value={m.id} />
              <button className="btn small danger" type="submit" name="intent" value="mailbox-delete" aria-label={`Delete bounce mailbox ${m.name} for good`}>Delete it</button>
            </Form>
          </details>
        </div>
      </div>
      <dl className="evidence" style={{ marginTop: ".5rem" }}>
        <dt>Read by</dt>
        <dd data-testid="mailbox-probe">{m.probe_id ? <><span className="mono">{m.probe_id}</span> <span className="muted">since {utc(m.assigned_at)}</span></> : "no probe yet (one takes it within a heartbeat)"}</dd>
        <dt>Last read</dt>
        <dd data-testid="mailbox-last-read">{utc(m.last_polled_at, "not read yet")}</dd>
        <dt>Messages</dt>
        <dd data-testid="mailbox-messages">{fmt(m.messages_seen)} read, {fmt(m.messages_ours)} ours</dd>
      </dl>
      {m.last_error && <div className="alert error" role="alert" aria-label={`Last read of ${m.name}`}>The last read failed: <span className="mono">{m.last_error}</span></div>}
      {test ? (
        <div className={`alert ${test.ok ? "ok" : "error"}`} role="status" aria-label={`Test of ${m.name}`}>
          {test.ok ? "Passed" : "Failed"}: stage <strong data-testid="mailbox-stage">{test.stage}</strong>
          {test.ok ? " (signed in and opened the folder; nothing was read or changed)" : ` (stopped at ${STAGE_WORDS[test.stage]})`}
          <div className="mono">{test.detail}</div>
        </div>
      ) : (
        m.tested_at && (
          <p className="muted">
            Last test {utc(m.tested_at)}: {m.test_ok ? "passed" : "failed"}{m.test_detail && <> · <span className="mono">{m.test_detail}</span></>}
          </p>
        )
      )}
      <Notice answer={answer} at={m.id} />
      <details className="edit">
        <summary aria-label={`Edit ${m.name}`}>Edit</summary>
        <MailboxForm mailbox={m} defaults={defaults} busy={busy} />
      </details>
    </article>
  );
}

function Mailboxes({ mailboxes, answer, defaults, busy }: { mailboxes: NonNullable<Data["mailboxes"]>; answer: Answer; defaults: Defaults; busy: boolean }) {
  return (
    <section className="card" aria-labelledby="mailboxes-title">
      <h2 id="mailboxes-title">Bounce mailboxes</h2>
      <p className="muted">
        The IMAP mailbox your bounce domain's mail arrives in. A probe reads it every few minutes (unread stays unread) and takes only what came back for your campaigns.
      </p>
      {mailboxes.more && <div className="alert warn">Only the newest {MAILBOX_LIMIT} mailboxes are shown; the API lists them all.</div>}
      <Notice answer={answer} at="mailboxes" />
      {mailboxes.list.length === 0 ? <p className="empty">No bounce mailboxes yet.</p> : mailboxes.list.map((m) => <MailboxCard key={m.id} mailbox={m} answer={answer} defaults={defaults} busy={busy} />)}
      <h3>Add a bounce mailbox</h3>
      <Notice answer={answer} at="mailbox-new" />
      <MailboxForm key={resetKey(answer, "mailbox-new")} defaults={defaults} busy={busy} />
    </section>
  );
}

const KIND_HINT: Record<BounceKind, string> = {
  hard: "hard: refused for good",
  soft: "soft: delayed or mailbox full",
  complaint: "complaint: marked as spam",
  unclassified: "unclassified: no rule could read it",
};

function BounceList({ data }: { data: Data }) {
  const { filter, bounces, nextCursor, paged } = data;
  const query = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== ""));
  const withCursor = (c: string) => `/bounces?${new URLSearchParams([...query, ["cursor", c]])}`;
  return (
    <section className="card" aria-labelledby="bounces-title">
      <h2 id="bounces-title">Bounces</h2>
      <Form method="get" className="row" aria-label="Filter the bounces">
        {filter.campaign_id && <input type="hidden" name="campaign_id" value={filter.campaign_id} />}
        <div>
          <label htmlFor="filter-kind">Kind</label>
          <select id="filter-kind" name="kind" defaultValue={filter.kind} style={{ width: "auto" }}>
            <option value="">Any</option>
            {BOUNCE_KINDS.map((k) => <option key={k} value={k}>{KIND_HINT[k]}</option>)}
          </select>
        </div>
        <div className="grow">
          <label htmlFor="filter-email">Address</label>
          <input id="filter-email" name="email" type="search" defaultValue={filter.email} placeholder="someone@example.com" />
        </div>
        <button className="btn" type="submit">Show</button>
        {query.size > 0 && <Link to="/bounces">Clear</Link>}
      </Form>
      {filter.campaign_id && <p className="muted">Of campaign <Link to={`/campaigns/${filter.campaign_id}`} className="mono">{filter.campaign_id}</Link> only.</p>}
      {bounces.length === 0 ? (
        <p className="empty">{`No bounces${paged || query.size ? " here" : " yet"}.`}</p>
      ) : (
        <TableScroll label="Bounces">
          <table aria-label="Bounces">
            <thead>
              <tr>
                <th scope="col">Email</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col" className="hide-sm">Campaign</th>
                <th scope="col" className="hide-sm">Source</th><th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {bounces.map((b) => (
                <tr key={b.id} data-bounce={b.id} data-kind={b.kind}>
                  <td><Link to={`/bounces/${b.id}`} className="mono">{b.email}</Link></td>
                  <td>
                    <Badge value={b.kind} />
                    {b.refunded_job_id && <> <span className="badge refunded" title="It contradicted our deliverable verdict: 1 credit came back">refunded</span></>}
                  </td>
                  <td><span className="mono">{b.status ?? "—"}</span>{b.category && <div className="muted">{b.category.replace(/_/g, " ")}</div>}</td>
                  <td className="hide-sm">{b.campaign_id ? <Link to={`/campaigns/${b.campaign_id}`} className="mono">{b.campaign_id}</Link> : "—"}</td>
                  <td className="hide-sm">{b.source === "imap" ? "bounce mailbox" : "API"}</td>
                  <td className="muted">{utc(b.occurred_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <div className="row">
        {paged && <Link to={`/bounces${query.size ? `?${query}` : ""}`}>← Newest</Link>}
        {nextCursor && <Link to={withCursor(nextCursor)}>Older →</Link>}
      </div>
    </section>
  );
}

function SoftSettings({ settings, limits, canManage, answer, busy }: { settings: Data["settings"]; limits: Data["softLimits"]; canManage: boolean; answer: Answer; busy: boolean }) {
  return (
    <section className="card" aria-labelledby="settings-title">
      <h2 id="settings-title">Soft bounces</h2>
      <p className="muted">
        Each day an address bounces soft (delayed, mailbox full) adds 0.5 to its score; at the threshold it is suppressed. A score starts over after the quiet days.
        {!canManage && " Only an owner or an admin can change this."}
      </p>
      <Notice answer={answer} at="settings" />
      <Form method="post" aria-label="Soft-bounce settings">
        <fieldset className="plain" disabled={!canManage || busy}>
          <div className="row">
            <div>
              <label htmlFor="soft-threshold">Suppress at score</label>
              <input id="soft-threshold" name="soft_threshold" type="number" step={0.5} min={limits.threshold.min} max={limits.threshold.max} required defaultValue={settings.soft_threshold} style={{ width: "8rem" }} />
            </div>
            <div>
              <label htmlFor="soft-reset">Start over after (days)</label>
              <input id="soft-reset" name="soft_reset_days" type="number" step={1} min={limits.resetDays.min} max={limits.resetDays.max} required defaultValue={settings.soft_reset_days} style={{ width: "8rem" }} />
            </div>
            {canManage && <button className="btn primary" type="submit" name="intent" value="settings">Save</button>}
          </div>
        </fieldset>
      </Form>
    </section>
  );
}

export default function Bounces() {
  const data = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Bounces</h1>
          <p>
            What came back from the campaigns of {data.account}, read from its bounce mailboxes or reported through the API. A hard bounce or a complaint suppresses the address;
            a hard bounce of an address we called deliverable in the 30 days before gives that credit back.
          </p>
        </div>
      </div>
      {data.mailboxes && <Mailboxes mailboxes={data.mailboxes} answer={answer} defaults={data} busy={busy} />}
      <BounceList data={data} />
      <SoftSettings settings={data.settings} limits={data.softLimits} canManage={data.canManage} answer={answer} busy={busy} />
    </>
  );
}
