// Small pieces shared by pages: verdict badges, the verdict donut, progress, evidence, copying.
import { Link } from "@remix-run/react";
import { useState, type CSSProperties, type ReactNode } from "react";
import type { Result } from "../../core/contracts.ts";
import type { Contradiction } from "../../edge/bounces/views.ts";
import type { SmtpReply } from "../../core/verdict.ts";
import { VERDICTS, type Verdict } from "../../core/verdict.ts";
import { Reason, Suggestion } from "./reason.tsx";

export const VERDICT_LABEL: Record<Verdict, string> = {
  deliverable: "Deliverable",
  undeliverable: "Undeliverable",
  risky: "Risky",
  unknown: "Unknown",
};
const VERDICT_COLOR: Record<Verdict, string> = { deliverable: "#2b8a3e", undeliverable: "#c92a2a", risky: "#e67700", unknown: "#868e96" };

export function Badge({ value }: { value: string }) {
  return <span className={`badge ${value}`}>{value.replace(/_/g, " ")}</span>;
}

/**
 * A table wider than the screen scrolls sideways inside this box, never the page (issue 26). The
 * box is a labelled region that takes focus, so the keyboard can scroll it, and its edges shade
 * while more of the table lies that way (styles.css, "shell").
 */
export function TableScroll({ label, style, children }: { label: string; style?: CSSProperties; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0} style={style}>
      {children}
    </div>
  );
}

export const fmt = (n: number) => n.toLocaleString("en");
/** A time as the same text on the server and in the browser (no time-zone mismatch at hydration). */
export const utc = (t: string | number | null, never = "never") => (t === null ? never : `${new Date(t).toISOString().slice(0, 16).replace("T", " ")} UTC`);
export const pct = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0);

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const percent = Math.round(Math.min(1, Math.max(0, value)) * 1000) / 10;
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
      <div style={{ width: `${percent}%` }} />
    </div>
  );
}

export function VerdictBar({ counts }: { counts: Record<Verdict, number> }) {
  const total = VERDICTS.reduce((s, v) => s + counts[v], 0);
  return (
    <div className="mini-bar" aria-hidden="true">
      {total > 0 && VERDICTS.map((v) => <span key={v} className={v} style={{ width: `${(counts[v] / total) * 100}%` }} />)}
    </div>
  );
}

/** An SVG donut of the verdicts, with its numbers in a legend (the chart itself is decorative). */
export function Donut({ counts, size = 168 }: { counts: Record<Verdict, number>; size?: number }) {
  const total = VERDICTS.reduce((s, v) => s + counts[v], 0);
  const r = 15.915; // circumference 100, so dash lengths are percentages
  let offset = 25; // start at 12 o'clock
  return (
    <div className="donut-wrap">
      <svg width={size} height={size} viewBox="0 0 42 42" role="img" aria-label={`Verdicts: ${VERDICTS.map((v) => `${counts[v]} ${v}`).join(", ")}`}>
        <circle cx="21" cy="21" r={r} fill="none" stroke="#e9ecef" strokeWidth="6" />
        {total > 0 &&
          VERDICTS.map((v) => {
            const share = (counts[v] / total) * 100;
            const seg = (
              <circle key={v} cx="21" cy="21" r={r} fill="none" stroke={VERDICT_COLOR[v]} strokeWidth="6" strokeDasharray={`${share} ${100 - share}`} strokeDashoffset={offset} />
            );
            offset -= share;
            return seg;
          })}
        <text x="21" y="22.5" textAnchor="middle" fontSize="5" fontWeight="650" fill="#14171c">{fmt(total)}</text>
      </svg>
      <ul className="legend" aria-label="Verdict counts">
        {VERDICTS.map((v) => (
          <li key={v} data-verdict={v}>
            <span><span className={`dot ${v}`} />{VERDICT_LABEL[v]}</span>
            <strong>{fmt(counts[v])} <span className="muted">({pct(counts[v], total)}%)</span></strong>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A server's reply as one line: "550 5.1.1 User unknown". */
export const replyText = (smtp: SmtpReply | null) => (smtp ? [smtp.code, smtp.enhanced, smtp.message].filter((p) => p !== null).join(" ") : "—");

const yesNo = (b: boolean | null) => (b === null ? "not known" : b ? "yes" : "no");

/** "contradicted by a bounce on 2025-03-15 10:04 UTC": a result's `deliverable` verdict that a hard 5.1.x bounce refunded (issue 24), linked to the bounce. */
export function ContradictedBy({ contradiction }: { contradiction: Contradiction }) {
  return (
    <Link to={`/bounces/${contradiction.bounce_id}`} className="contradicted" data-testid="contradicted">
      contradicted by a bounce on {utc(contradiction.occurred_at)}{contradiction.status && ` (${contradiction.status})`}
    </Link>
  );
}

/** Every check of one result, the bounce that contradicted it, and the probe's trace when it has one. */
export function Evidence({ result, contradicted = null }: { result: Result; contradicted?: Contradiction | null }) {
  const flags = (["catch_all", "disposable", "role", "free", "greylisted"] as const).filter((f) => result[f] === true);
  return (
    <div>
      <dl className="evidence">
        {result.suggestion && (<><dt>Did you mean</dt><dd><Suggestion suggestion={result.suggestion} /></dd></>)}
        <dt>Verdict</dt><dd><Badge value={result.verdict} /> <Reason code={result.reason} showCode /></dd>
        <dt>Score</dt><dd>{result.score} / 100</dd>
        <dt>Normalized</dt><dd className="mono">{result.normalized ?? "—"}</dd>
        <dt>MX</dt><dd className="mono">{result.mx ?? "—"}</dd>
        <dt>SMTP reply</dt><dd className="mono">{result.smtp ? `${result.smtp.code} ${result.smtp.message}` : "—"}</dd>
        <dt>Enhanced code</dt><dd className="mono">{result.smtp?.enhanced ?? "—"}</dd>
        {contradicted && (<><dt>Bounce</dt><dd><ContradictedBy contradiction={contradicted} />; its credit was refunded</dd></>)}
        <dt>Flags</dt><dd>{flags.length ? flags.map((f) => <Badge key={f} value={f} />) : "none"}</dd>
        <dt>Catch-all</dt><dd>{yesNo(result.catch_all)}</dd>
        <dt>Disposable · role · free</dt><dd>{yesNo(result.disposable)} · {yesNo(result.role)} · {yesNo(result.free)}</dd>
        {result.retry_after && (<><dt>Retry after</dt><dd>{result.retry_after}</dd></>)}
        <dt>Took</dt><dd>{fmt(result.duration_ms)} ms</dd>
      </dl>
      {result.trace && result.trace.length > 0 && (
        <>
          <h3 style={{ fontSize: "1rem", margin: "1rem 0 .4rem" }}>Trace</h3>
          <pre aria-label="SMTP trace">{result.trace.join("\n")}</pre>
        </>
      )}
    </div>
  );
}

/** Copies a secret shown once (an API key, a webhook signing secret) to the clipboard. */
export function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="btn small"
      onClick={() => void navigator.clipboard.writeText(text).then(() => setCopied(true), () => setCopied(false))}
    >
      {copied ? "Copied" : "Copy"}
    </button>
  );
}
