// Finding a person's address (issue 14): one person here, with every candidate asked and the
// server's reply to it; a list goes through the upload page as a job of kind `find`.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, type MetaFunction } from "@remix-run/react";
import type { FindAnswer } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import { can } from "../../core/roles.ts";
import { findPerson } from "../../edge/services/find.ts";
import { requireViewer } from "../auth.server.ts";
import { RefusedAlert } from "../components/billing.tsx";
import { Badge, CopyButton, fmt, replyText } from "../components/ui.tsx";
import { refused } from "../lib/actions.server.ts";

export const meta: MetaFunction = () => [{ title: "Find an address · mxray" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  return { canBuy: can(viewer.account.role, "billing:view") };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const form = await args.request.formData();
  const field = (name: string) => String(form.get(name) ?? "");
  try {
    // The service checks the fields and names the one it refuses; the trace is part of the evidence.
    const input = { first_name: field("first_name"), last_name: field("last_name"), domain: field("domain"), trace: true };
    return { answer: await findPerson(args.context.services, viewer.account.id, viewer.user.id, newId("req"), input) };
  } catch (e) {
    return refused(e);
  }
}

/** Why no address came back, in words: the answer's verdict is the one that stopped the search. */
function whyNone(a: FindAnswer): string {
  const reason = a.reason.replace(/_/g, " ");
  if (a.verdict === "unknown") return `The mail server would not tell which mailboxes exist (${reason}); try again later.`;
  // A mailbox refusal stops nothing, so it is the answer's reason only when every candidate was refused.
  if (a.reason === "mailbox_not_found" || a.reason === "mailbox_disabled") return `The mail server refused every address tried (${reason}).`;
  if (a.verdict === "undeliverable") return `The domain takes no mail (${reason}).`;
  return `No address was taken (${reason}).`;
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
          <dt>Reason</dt><dd className="mono">{a.reason}</dd>
          <dt>Confidence</dt><dd>{a.confidence}%</dd>
          <dt>Pattern</dt><dd className="mono">{a.pattern}</dd>
          <dt>Took</dt><dd>{fmt(a.duration_ms)} ms</dd>
        </dl>
      )}
      <h3 style={{ fontSize: "1rem", margin: "1rem 0 .4rem" }}>Candidates asked, in order</h3>
      {a.candidates.length === 0 ? (
        <p className="empty">None was asked.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Candidates asked">
            <thead>
              <tr><th scope="col">Address</th><th scope="col">Pattern</th><th scope="col">Verdict</th><th scope="col">Reason</th><th scope="col">MX</th><th scope="col">SMTP reply</th></tr>
            </thead>
            <tbody>
              {a.candidates.map((c) => (
                <tr key={c.email}>
                  <td className="mono">{c.email}</td>
                  <td className="mono">{c.pattern}</td>
                  <td><Badge value={c.verdict} /></td>
                  <td className="mono">{c.reason}</td>
                  <td className="mono">{c.mx ?? "—"}</td>
                  <td className="mono">{replyText(c.smtp)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
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
        <p>
          A CSV with a <span className="mono">first_name</span> and a <span className="mono">last_name</span> column (or one{" "}
          <span className="mono">full_name</span>), and a <span className="mono">domain</span> (or <span className="mono">website</span>) column.
          Each row gets its address, verdict, confidence and pattern beside your columns.
        </p>
        <Link className="btn" to="/upload?kind=find">Find addresses for a list</Link>
      </section>
    </>
  );
}
