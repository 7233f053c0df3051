// A job, live: progress, counters and a donut of verdicts, throughput and ETA, the latest results
// as they arrive (over the job's WebSocket, reconnecting by itself), downloads, and the results
// table with filters, search, pages and each row's evidence (with the bounce that contradicted a
// `deliverable` verdict, issue 24), and whether the account's rules make it safe to send (issue 25).
// A job whose results the account's retention removed (issue 25) shows its summary and says when and why they went.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, useRevalidator, useSearchParams, type MetaFunction } from "@remix-run/react";
import { Fragment, useEffect, useState } from "react";
import type { FindAnswer, Result } from "../../core/contracts.ts";
import { can } from "../../core/roles.ts";
import { refusalOf } from "../../core/rules.ts";
import { VERDICTS, type Verdict } from "../../core/verdict.ts";
import { isTerminal, LATEST_RESULTS, type LatestRow } from "../../core/live.ts";
import { requireViewer } from "../auth.server.ts";
import { CandidatesTable, whyNone } from "../components/finder.tsx";
import { SafeToSend } from "../components/rules.tsx";
import { FilesTable } from "../components/files.tsx";
import { Reason, reasonWords, Suggestion } from "../components/reason.tsx";
import { Badge, ContradictedBy, Donut, Evidence, fmt, ProgressBar, TableScroll, VERDICT_LABEL } from "../components/ui.tsx";
import { refused } from "../lib/actions.server.ts";
import { authorize, mintLiveToken } from "../lib/identity.server.ts";
import { browseResults, cancelJob, deleteJob, getJob, jobOr404, jobProgress, jobView, latestResults } from "../lib/jobs.server.ts";
import { getRules } from "../lib/rules.server.ts";
import { tailText } from "../lib/tail.ts";
import { useJobLive } from "../lib/useJobLive.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.job.name ?? "Job"} · mxray` }];

const isVerdict = (v: string | null): v is Verdict => (VERDICTS as readonly (string | null)[]).includes(v);
/** The safe_to_send filter of the query: "true", "false", or none. */
const safeFilter = (v: string | null) => (v === "true" ? true : v === "false" ? false : undefined);

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const who = viewer;
  const job = await jobOr404(() => getJob(services, who, args.params.id!));
  const url = new URL(args.request.url);
  const verdict = url.searchParams.get("verdict");
  // Expired results go in steps: none is shown while the rest go.
  const expired = job.resultsExpiredAt !== null;
  const [latest, rules, results] = await Promise.all([expired ? ([] as LatestRow[]) : latestResults(services, who, { jobId: job.id, limit: LATEST_RESULTS }), getRules(services, who), expired ? null : browseResults(services, who, {
    jobId: job.id,
    verdict: isVerdict(verdict) ? verdict : undefined,
    reason: url.searchParams.get("reason") || undefined,
    safeToSend: job.kind === "verify" ? safeFilter(url.searchParams.get("safe_to_send")) : undefined,
    q: url.searchParams.get("q") || undefined,
    page: Number(url.searchParams.get("page")) || 1,
  })]);
  return {
    job: jobView(job),
    progress: jobProgress(job),
    latest,
    live: await mintLiveToken(args.context.services, viewer, { jobId: job.id, holder: viewer.holder }),
    results,
    // The live rows' safe_to_send is judged in the page by the same rules (core/rules.ts).
    rules,
    canDelete: can(viewer.account.role, "jobs:delete"),
  };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const intent = (await args.request.formData()).get("intent");
  try {
    authorize(viewer, "jobs:delete");
    if (intent === "delete") {
      await deleteJob(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, args.params.id!);
      return redirect("/dashboard");
    }
    await cancelJob(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, args.params.id!);
    return { error: null };
  } catch (e) {
    return refused(e);
  }
}

function duration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return "—";
  if (s < 60) return `${Math.max(0, Math.round(s))} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** A row of the results table: a live one has no row number yet. */
type TableRow = Omit<NonNullable<Awaited<ReturnType<typeof loader>>["results"]>["rows"][number], "rowIndex" | "email"> & { rowIndex: number | null };

/** The page's own clock, ticking each second while `running` (null until hydrated: the server has none). */
function useNow(running: boolean): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [running]);
  return now;
}

export default function JobPage() {
  const { job, progress, latest, live: token, results, rules, canDelete } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const failure = answer && "error" in answer && answer.error ? answer.error.message : null;
  const live = useJobLive(progress, latest, token.token);
  const revalidator = useRevalidator();
  const busy = useNavigation().state !== "idle";
  const [params] = useSearchParams();
  const [open, setOpen] = useState<string | null>(null);
  const current = live.job;
  const done = isTerminal(current.status);
  // Rows without a result are counted at ingest and never change afterwards (issue 9).
  const rejects = Object.entries(job.rejects).filter(([, n]) => n > 0);
  const rejected = rejects.reduce((sum, [, n]) => sum + n, 0);
  const rejectList = rejects.map(([reason, n]) => `${fmt(n)} ${reason.replace(/_/g, " ")}`).join(", ");
  const share = current.unique > 0 ? current.processed / current.unique : done ? 1 : 0;
  const now = useNow(!done);
  // Why the last addresses wait, instead of an estimate that froze (issue 26).
  const tail = done || now === null ? null : tailText({ waiting: live.waiting, left: current.unique - current.processed, movedAt: live.movedAt, now });
  // While the job runs, an unfiltered first page is filled live: the newest answers, newest first
  // (bounded like the latest list); filters, pages and file order come with the finished table.
  const liveTable = !done && job.kind === "verify" && !["q", "verdict", "reason", "safe_to_send", "page"].some((k) => params.get(k));
  const liveRows: TableRow[] = live.latest.filter((r): r is Result => "normalized" in r).map((result) => ({ rowIndex: null, result, contradicted: null, refusal: refusalOf(result, rules) }));
  const shownRows: TableRow[] = liveTable ? liveRows : (results?.rows ?? []);

  // When the job ends, load the finished table once (the page itself never needs a reload).
  useEffect(() => {
    if (done && !isTerminal(job.status) && revalidator.state === "idle") revalidator.revalidate();
  }, [done, job.status, revalidator]);

  const pageLink = (page: number) => {
    const next = new URLSearchParams(params);
    next.set("page", String(page));
    return `?${next}`;
  };

  return (
    <>
      <div className="page-head">
        <div>
          <p><Link to="/dashboard">Dashboard</Link> /</p>
          <h1>{job.name}</h1>
          <p>
            <Badge value={current.status} /> · {fmt(current.total)} rows, {fmt(current.unique)} unique ·{" "}
            {rejected > 0 && (
              <>
                <span data-testid="rejects" title="Rows of the upload that got no result">
                  {fmt(rejected)} rejected ({rejectList})
                </span>{" "}·{" "}
              </>
            )}
            <span className={`live${live.state === "live" ? " on" : ""}`} role="status" aria-live="polite">
              {live.state === "live" ? "Live" : live.state === "reconnecting" ? "Reconnecting…" : live.state === "connecting" ? "Connecting…" : "Finished"}
            </span>
          </p>
        </div>
        {canDelete && (
          <Form method="post" onSubmit={(e) => done && !confirm(`Delete “${job.name}” and all its results?`) && e.preventDefault()}>
            <button className="btn danger" type="submit" name="intent" value={done ? "delete" : "cancel"} disabled={busy}>{done ? "Delete list" : "Cancel job"}</button>
          </Form>
        )}
      </div>
      {failure && <div className="alert error" role="alert">{failure}</div>}

      <section className="card" aria-labelledby="progress-title">
        <h2 id="progress-title">Progress</h2>
        <div className="row" style={{ justifyContent: "space-between", marginBottom: ".4rem" }}>
          <strong data-testid="progress-text">{Math.floor(share * 1000) / 10}%</strong>
          <span className="muted">{fmt(current.processed)} of {fmt(current.unique)} {job.kind === "find" ? "searched" : "verified"}</span>
        </div>
        <ProgressBar value={share} label="Verification progress" />
        <div className="stats" style={{ marginTop: "1rem" }}>
          {VERDICTS.map((v) => (
            <div className="stat" key={v}><div className="label"><span className={`dot ${v}`} />{VERDICT_LABEL[v]}</div><div className="value" data-testid={`count-${v}`}>{fmt(current.counts[v])}</div></div>
          ))}
          <div className="stat"><div className="label">Throughput</div><div className="value">{live.ratePerS === null ? "—" : `${fmt(Math.round(live.ratePerS * 10) / 10)}/s`}</div></div>
          <div className="stat"><div className="label">ETA</div><div className="value" data-testid="eta">{done ? "done" : tail ? "waiting" : duration(live.etaS)}</div></div>
        </div>
        {tail && <p className="tail-waiting" data-testid="tail-waiting" role="status">{tail.charAt(0).toUpperCase() + tail.slice(1)}.</p>}
      </section>

      {job.files && (
        <section className="card" aria-labelledby="files-title">
          <h2 id="files-title">{job.files.some((f) => f.sheet === undefined) || new Set(job.files.map((f) => f.name)).size > 1 ? "Files" : "Sheets"}</h2>
          <p className="muted">Each file (or sheet) was read with its own header row; an address in two of them was verified once, and counts as unique in the first.</p>
          <FilesTable files={job.files} />
        </section>
      )}

      <div className="grid">
        <section className="card" aria-labelledby="verdicts-title">
          <h2 id="verdicts-title">Verdicts</h2>
          <Donut counts={current.counts} />
        </section>
        <section className="card" aria-labelledby="latest-title">
          <h2 id="latest-title">Latest results</h2>
          {live.latest.length === 0 ? (
            <p className="muted">Results appear here as probes answer.</p>
          ) : (
            <ul className="latest" aria-live="off">
              {live.latest.map((r, i) => (
                <li key={r.email ?? i}>
                  <span className="mono">{r.email ?? "no address found"}</span>
                  {"suggestion" in r && r.suggestion ? <Suggestion suggestion={r.suggestion} /> : <span className="latest-reason muted" title={r.reason}>{reasonWords(r.reason)}</span>}
                  <Badge value={r.verdict} />
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      {results === null ? <ResultsExpired at={job.results_expired_at} /> : <>
      <section className="card" aria-labelledby="download-title">
        <h2 id="download-title">Download</h2>
        {done ? (
          <>
            <div className="row" style={{ marginBottom: ".75rem" }}>
              <a className="btn primary" href={`/jobs/${job.id}/download?format=csv`} title={EVERY_ROW} download>All results (CSV)</a>
              <a className="btn" href={`/jobs/${job.id}/download?format=xlsx`} title={EVERY_ROW} download>All results (XLSX)</a>
              <a className="btn" href={`/jobs/${job.id}/download?format=csv&verdict=deliverable`} download>Deliverable only (CSV)</a>
              {job.kind === "verify" && <a className="btn" href={`/jobs/${job.id}/download?format=csv&safe_to_send=true`} download>Safe to send only (CSV)</a>}
              <a className="btn" href={`/jobs/${job.id}/download?format=json`} title={EVERY_ROW} download>All results (JSON)</a>
            </div>
            <form method="get" action={`/jobs/${job.id}/download`} className="row">
              <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
                <legend className="muted" style={{ marginBottom: ".25rem" }}>Choose verdicts</legend>
                {VERDICTS.map((v) => (
                  <label key={v} style={{ display: "inline-flex", gap: ".3rem", marginRight: ".8rem", fontWeight: 400 }}>
                    <input type="checkbox" name="verdict" value={v} defaultChecked={v !== "undeliverable"} /> {VERDICT_LABEL[v]}
                  </label>
                ))}
              </fieldset>
              {job.kind === "verify" && (
                <div>
                  <label htmlFor="download-safe">Safe to send</label>
                  <select id="download-safe" name="safe_to_send" defaultValue="" style={{ width: "auto" }}>
                    <option value="">Either</option>
                    <option value="true">Safe only</option>
                    <option value="false">Not safe only</option>
                  </select>
                </div>
              )}
              <div>
                <label htmlFor="format">Format</label>
                <select id="format" name="format" defaultValue="csv" style={{ width: "auto" }}>
                  <option value="csv">CSV</option>
                  <option value="xlsx">Excel (XLSX)</option>
                  <option value="json">JSON</option>
                  <option value="jsonl">JSON Lines</option>
                </select>
              </div>
              <button className="btn" type="submit">Download selection</button>
            </form>
          </>
        ) : (
          <p className="muted">Downloads open when the job is finished.</p>
        )}
      </section>

      <section className="card" aria-labelledby="results-title">
        <h2 id="results-title">Results</h2>
        <Form method="get" className="row" style={{ marginBottom: ".75rem" }} role="search">
          <div className="grow">
            <label htmlFor="q">Search addresses</label>
            <input id="q" name="q" type="search" defaultValue={params.get("q") ?? ""} placeholder="name@ or domain" />
          </div>
          <div>
            <label htmlFor="verdict">Verdict</label>
            <select id="verdict" name="verdict" defaultValue={params.get("verdict") ?? ""}>
              <option value="">All</option>
              {VERDICTS.map((v) => <option key={v} value={v}>{VERDICT_LABEL[v]}</option>)}
            </select>
          </div>
          {job.kind === "verify" && (
            <div>
              <label htmlFor="safe_to_send">Safe to send</label>
              <select id="safe_to_send" name="safe_to_send" defaultValue={params.get("safe_to_send") ?? ""}>
                <option value="">All</option>
                <option value="true">Safe</option>
                <option value="false">Not safe</option>
              </select>
            </div>
          )}
          <div>
            <label htmlFor="reason">Reason</label>
            <select id="reason" name="reason" defaultValue={params.get("reason") ?? ""}>
              <option value="">All</option>
              {results.reasons.map((r) => <option key={r.reason} value={r.reason}>{reasonWords(r.reason)} ({fmt(r.count)})</option>)}
            </select>
          </div>
          <button className="btn" type="submit">Filter</button>
        </Form>
        {!done && (liveTable ? (
          <p className="muted" data-testid="table-holds">
            While the list is verified, the table shows the newest <strong data-testid="table-count">{fmt(liveRows.length)}</strong> answers, newest first ({fmt(current.processed)} so far); when it ends, every answer in file order, with filters and pages.
          </p>
        ) : (
          <p className="muted" data-testid="table-holds">
            The table shows the <strong data-testid="table-count">{fmt(results.total)}</strong> answers that matched when the page was loaded; filter again for newer ones, or wait for the list to end.
          </p>
        ))}
        {results.rows.length > 0 && job.kind === "find" ? (
          <FindTable rows={results.rows} />
        ) : shownRows.length === 0 ? (
          <p className="empty">{results.total === 0 && !params.toString() ? "No answers yet." : "No results match."}</p>
        ) : (
          <TableScroll label="Results">
            <table aria-label="Results" className="cards-sm">
              <thead>
                <tr><th scope="col">Row</th><th scope="col">Address</th><th scope="col">Verdict</th><th scope="col">Reason</th><th scope="col" className="num hide-sm">Score</th><th scope="col">Safe to send</th><th scope="col" className="hide-sm">MX</th></tr>
              </thead>
              <tbody>
                {shownRows.map(({ rowIndex, result, contradicted, refusal }) => {
                  const key = rowIndex === null ? `live-${result.normalized ?? result.email}` : String(rowIndex);
                  const toggle = () => setOpen(open === key ? null : key);
                  return (
                    <Fragment key={key}>
                      <tr className="clickable" onClick={toggle}>
                        <td className="num" data-label="Row">{rowIndex === null ? <span className="muted" title="Row numbers show when the list is finished">—</span> : rowIndex + 1}</td>
                        <td data-label="Address">
                          <button type="button" className="btn small link" aria-expanded={open === key} aria-controls={`evidence-${key}`} onClick={(e) => (e.stopPropagation(), toggle())}>
                            <span className="mono">{result.email}</span>
                          </button>
                        </td>
                        <td data-label="Verdict">
                          <Badge value={result.verdict} />
                          {contradicted && <div className="muted"><ContradictedBy contradiction={contradicted} /></div>}
                        </td>
                        <td data-label="Reason"><Reason code={result.reason} suggestion={result.suggestion} /></td>
                        <td className="num hide-sm" data-label="Score">{result.score}</td>
                        <td data-label="Safe to send"><SafeToSend refusal={refusal} /></td>
                        <td className="mono hide-sm" data-label="MX">{result.mx ?? "—"}</td>
                      </tr>
                      {open === key && (
                        <tr id={`evidence-${key}`} className="evidence-row"><td colSpan={7} style={{ background: "#fbfcfd" }}><Evidence result={result} contradicted={contradicted} /></td></tr>
                      )}
                    </Fragment>
                  );
                })}
              </tbody>
            </table>
          </TableScroll>
        )}
        {!liveTable && (
          <nav className="pager" aria-label="Result pages">
            <span className="muted">{fmt(results.total)} results · page {results.page} of {results.pages}</span>
            {results.page > 1 ? <Link className="btn small" to={pageLink(results.page - 1)}>Previous</Link> : <span className="btn small" aria-disabled="true">Previous</span>}
            {results.page < results.pages ? <Link className="btn small" to={pageLink(results.page + 1)}>Next</Link> : <span className="btn small" aria-disabled="true">Next</span>}
          </nav>
        )}
      </section>
      </>}
    </>
  );
}

/** Where the results were: gone under the account's retention setting; the summary above stays. */
function ResultsExpired({ at }: { at: string | null }) {
  return (
    <section className="card" aria-labelledby="expired-title" data-testid="results-expired">
      <h2 id="expired-title">Results removed</h2>
      <p>
        This list's results were removed on {at?.slice(0, 10)}: the account keeps results for a set number of days after a list ends (see <Link to="/settings">Settings</Link>).
        The counts above stay; the addresses, their evidence and the uploaded rows are gone, and no download or campaign can use them.
      </p>
    </section>
  );
}

/**
 * A find job's answers (issue 14): each person, the address found, its verdict, confidence and
 * pattern; a row opens to the candidates asked with each server's reply, and why none was found.
 */
/** What the "All results" downloads hold: the full export (edge/jobs/export.ts, issue 26). */
const EVERY_ROW = "Every row of your file, in its order, with its result: a repeated address carries its first row's, a rejected row its reason";

function FindTable({ rows }: { rows: { rowIndex: number; email: string; result: unknown }[] }) {
  const [open, setOpen] = useState<number | null>(null);
  const toggle = (rowIndex: number) => setOpen(open === rowIndex ? null : rowIndex);
  return (
    <TableScroll label="Results">
      <table aria-label="Results">
        <thead>
          <tr><th scope="col">Row</th><th scope="col">Person</th><th scope="col">Address found</th><th scope="col">Verdict</th><th scope="col" className="num">Confidence</th><th scope="col" className="hide-sm">Pattern</th></tr>
        </thead>
        <tbody>
          {rows.map(({ rowIndex, email, result }) => {
            const a = result as FindAnswer;
            return (
              <Fragment key={rowIndex}>
                <tr className="clickable" onClick={() => toggle(rowIndex)}>
                  <td className="num">{rowIndex + 1}</td>
                  <td>
                    <button type="button" className="btn small link" aria-expanded={open === rowIndex} aria-controls={`evidence-${rowIndex}`} onClick={(e) => (e.stopPropagation(), toggle(rowIndex))}>
                      {email}
                    </button>
                  </td>
                  <td className="mono">{a.email ?? "—"}</td>
                  <td><Badge value={a.verdict} /></td>
                  <td className="num">{a.email ? a.confidence : "—"}</td>
                  <td className="mono hide-sm">{a.pattern ?? "—"}</td>
                </tr>
                {open === rowIndex && (
                  <tr id={`evidence-${rowIndex}`}>
                    <td colSpan={6} style={{ background: "#fbfcfd" }}>
                      {a.email === null && <p>{whyNone(a)}</p>}
                      {a.catch_all === true && <p className="muted">This domain accepts every address: the address is the likeliest pattern, not proven.</p>}
                      <CandidatesTable answer={a} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </TableScroll>
  );
}
