import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Link, useLoaderData, type MetaFunction } from "@remix-run/react";
import { getViewer } from "../auth.server.ts";

export const meta: MetaFunction = () => [
  { title: "mxray: email verification with the SMTP evidence" },
  { name: "description", content: "Find out which addresses take mail: deliverable, undeliverable, risky or unknown, live." },
];

export async function loader(args: LoaderFunctionArgs) {
  return { signedIn: (await getViewer(args)) !== null };
}

export default function Index() {
  const { signedIn } = useLoaderData<typeof loader>();
  return (
    <>
      <section className="hero">
        <h1>Know which addresses take mail, before you send.</h1>
        <p>
          mxray asks each mail server, the way a real sender would, whether it accepts the address: RCPT TO, never a message.
          Every answer is deliverable, undeliverable, risky or unknown, with the SMTP reply that proves it.
        </p>
        <div className="row" style={{ justifyContent: "center" }}>
          {signedIn ? (
            <Link className="btn primary" to="/dashboard">Go to your dashboard</Link>
          ) : (
            <Link className="btn primary" to="/sign-in">Sign in to verify a list</Link>
          )}
          <Link className="btn" to="/docs">Read the API</Link>
        </div>
      </section>
      <div className="grid">
        <div className="card"><h2>Live bulk jobs</h2><p className="muted">Upload a CSV, TSV or text list and watch verdicts stream in, with throughput and ETA. Download everything or only the deliverable addresses.</p></div>
        <div className="card"><h2>Evidence, not guesses</h2><p className="muted">Each result carries the MX asked, the SMTP reply and enhanced status code, catch-all, disposable, role and free flags, and a typo suggestion.</p></div>
        <div className="card"><h2>Honest unknowns</h2><p className="muted">Greylisting is retried; servers that will not say are reported as unknown and refunded, never counted as valid.</p></div>
        <div className="card"><h2>An API for everything</h2><p className="muted">Single checks in real time, bulk jobs, results as CSV or JSON, and job progress over a WebSocket.</p></div>
      </div>
    </>
  );
}
