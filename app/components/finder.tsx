// A find's answer as pages show it (issue 14): why no address came back, and the candidates asked
// with each server's reply. Used by /find for one person and by a find job's results table.
import type { FindAnswer } from "../../core/contracts.ts";
import { reasonWords, Reason } from "./reason.tsx";
import { Badge, replyText, TableScroll } from "./ui.tsx";

/** Why no address came back, in words: the answer's verdict is the one that stopped the search. */
export function whyNone(a: FindAnswer): string {
  const reason = reasonWords(a.reason).toLowerCase();
  if (a.verdict === "unknown") return `The mail server would not tell which mailboxes exist (${reason}); try again later.`;
  // A mailbox refusal stops nothing, so it is the answer's reason only when every candidate was refused.
  if (a.reason === "mailbox_not_found" || a.reason === "mailbox_disabled") return `The mail server refused every address tried (${reason}).`;
  if (a.verdict === "undeliverable") return `The domain takes no mail (${reason}).`;
  return `No address was taken (${reason}).`;
}

/** Every candidate asked, in order: address, pattern, verdict, reason, MX and SMTP reply. */
export function CandidatesTable({ answer: a }: { answer: FindAnswer }) {
  if (a.candidates.length === 0) return <p className="empty">None was asked.</p>;
  return (
    <TableScroll label="Candidates asked">
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
              <td><Reason code={c.reason} /></td>
              <td className="mono">{c.mx ?? "—"}</td>
              <td className="mono">{replyText(c.smtp)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
