// Finding a person's address (issue 14): one person here, with every candidate asked and the
// server's reply to it; a pasted list (or an uploaded file) becomes a job of kind `find`.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import type { FindAnswer } from "../../core/contracts.ts";
import { personFromLine } from "../../core/finder/patterns.ts";
import { newId } from "../../core/ids.ts";
import { can } from "../../core/roles.ts";
import { requireViewer } from "../auth.server.ts";
import { RefusedAlert } from "../components/billing.tsx";
import { CandidatesTable, whyNone } from "../components/finder.tsx";
import { Reason } from "../components/reason.tsx";
import { Badge, CopyButton, fmt } from "../components/ui.tsx";
import { refused, ServiceError } from "../lib/actions.server.ts";
import { findPerson } from "../lib/finder.server.ts";
import { defaultJobName, ingestJob } from "../lib/jobs.server.ts";

export const meta: MetaFunction = () => [{ title: "Find an address · mxray" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  return { canBuy: can(viewer.account.role, "billing:view") };
}

/** Lines a pasted list may have; a longer list is a file for the upload page. */
const MAX_PASTED_PEOPLE = 1_000;

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const form = await args.request.formData();
  const field = (name: string) => String(form.get(name) ?? "");
  try {
    if (field("intent") === "list") {
      // A pasted list becomes a job of kind find, as an uploaded one does; its page shows each answer.
      const people = field("people").split(/\r?\n/).filter((l) => l.trim() !== "").map(personFromLine);
      if (people.length === 0) throw new ServiceError("validation_failed", "people: paste one person per line, a name and a domain");
      if (people.length > MAX_PASTED_PEOPLE) throw new ServiceError("validation_failed", `people: ${fmt(people.length)} lines; up to ${fmt(MAX_PASTED_PEOPLE)} can be pasted, upload a file for more`);
      const job = await ingestJob(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, { name: defaultJobName(), source: { kind: "people", people }, kind: "find" });
      return redirect(`/jobs/${job.id}`);
    }
    // The service checks the fields and names the one it refuses; the trace is part of the evidence.
    const input = { first_name: field("first_name"), last_name: field("last_name"), domain: field("domain"), trace: true };
    return { answer: await findPerson(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, { find: input, chargeKey: newId("req") }) };
  } catch (e) {
    return refused(e);
  }
}

function Answer({ answer: a }: { answer: FindAnswer }) {
  return (
    <section className="card" aria-labelledby="answer-title" aria-live="polite">
      {a.email ? (
        <div className="secret">
          <h2 id="answer-title" style={{ margin: 0 }}>
            <span className="mono">{a.email}</span> <Badge value={a.verdict} />
          </h2>
          <CopyButton text={a.email} />
        </div>
      ) : (
        <>
          <h2 id="answer-title">No address found <Badge value={a.verdict} /></h2>
          <p>{whyNone(a)}</p>
        </>
      )}
      {a.catch_all === true && (
        <div className="alert warn" role="note">This domain accepts every address: the address is the likeliest pattern, not proven.</div>
      )}
      {a.email && (
        <dl className="evidence">
          <dt>Reason</dt><dd><Reason code={a.reason} showCode /></dd>
          <dt>Confidence</dt><dd>{a.confidence}%</dd>
          <dt>Pattern</dt><dd className="mono">{a.pattern}</dd>
          <dt>Took</dt><dd>{fmt(a.duration_ms)} ms</dd>
        </dl>
      )}
      <h3 style={{ fontSize: "1rem", margin: "1rem 0 .4rem" }}>Candidates asked, in order</h3>
      <CandidatesTable answer={a} />
      {a.trace && a.trace.length > 0 && (
        <details>
          <summary>SMTP trace</summary>
          <pre aria-label="SMTP trace">{a.trace.join("\n")}</pre>
        </details>
      )}
    </section>
  );
}

export default function Find() {
  const { canBuy } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Find an address</h1>
          <p>A person's name and company: the likely addresses are asked live, in one conversation with the mail server. Costs one credit when an address is found.</p>
        </div>
      </div>
      <Form method="post" className="card">
        <div className="row">
          <div className="grow">
            <label htmlFor="first_name">First name</label>
            <input id="first_name" name="first_name" type="text" autoComplete="off" required placeholder="Ada" />
          </div>
          <div className="grow">
            <label htmlFor="last_name">Last name</label>
            <input id="last_name" name="last_name" type="text" autoComplete="off" required placeholder="Lovelace" />
          </div>
          <div className="grow">
            <label htmlFor="domain">Company domain or website</label>
            <input id="domain" name="domain" type="text" autoComplete="off" spellCheck={false} required placeholder="example.com" />
          </div>
          <button className="btn primary" type="submit" disabled={busy}>{busy ? "Finding…" : "Find"}</button>
        </div>
      </Form>
      {result && "error" in result && result.error && <RefusedAlert error={result.error} canBuy={canBuy} />}
      {result && "answer" in result && result.answer && <Answer answer={result.answer} />}
      <section className="card" aria-labelledby="list-title">
        <h2 id="list-title">Or a list</h2>
        <Form method="post">
          <input type="hidden" name="intent" value="list" />
          <label htmlFor="people">People, one per line: a name, then the domain or website</label>
          <textarea id="people" name="people" rows={5} spellCheck={false} placeholder={"Ada Lovelace, example.com\nGrace Hopper, https://www.example.org"} required />
          <p className="muted">
            Up to {fmt(MAX_PASTED_PEOPLE)} people; each is reserved a credit, charged only when an address is found. The job's page shows
            each answer with the candidates asked.
          </p>
          <button className="btn primary" type="submit" disabled={busy}>Find these addresses</button>
        </Form>
        <p>
          Or a file: a CSV with a <span className="mono">first_name</span> and a <span className="mono">last_name</span> column (or one{" "}
          <span className="mono">full_name</span>), and a <span className="mono">domain</span> (or <span className="mono">website</span>) column.
          Each row gets its address, verdict, confidence and pattern beside your columns.
        </p>
        <Link className="btn" to="/upload?kind=find">Upload a list of people</Link>
      </section>
    </>
  );
}
