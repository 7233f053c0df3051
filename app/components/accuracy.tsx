// Our measured accuracy on customers' mail (issue 24), per UTC month, newest first: addresses we
// called deliverable, messages sent, and the hard bounces that contradicted a `deliverable` verdict
// (each refunded). The account's on /billing, every account's on /admin.
import type { AccuracyMonth } from "../../edge/bounces/views.ts";
import { fmt, TableScroll } from "./ui.tsx";

/** contradicted / sent as a percentage with two decimals ("0.21%"); "—" with nothing sent. */
export const rateText = (rate: number | null) => (rate === null ? "—" : `${(Math.round(rate * 10_000) / 100).toFixed(2)}%`);

export function AccuracyTable({ months, label }: { months: readonly AccuracyMonth[]; label: string }) {
  return (
    <TableScroll label={label}>
      <table aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Month (UTC)</th>
            <th scope="col" className="num" title="Addresses verification jobs that finished this month called deliverable">Called deliverable</th>
            <th scope="col" className="num" title="Messages of campaigns started this month that a relay accepted">Sent</th>
            <th scope="col" className="num" title="Hard 5.1.x bounces this month that contradicted a deliverable verdict of the 30 days before">Contradicted</th>
            <th scope="col" className="num" title="Contradicted of sent">Rate</th>
          </tr>
        </thead>
        <tbody>
          {[...months].reverse().map((m) => (
            <tr key={m.month} data-month={m.month}>
              <th scope="row">{m.month}</th>
              <td className="num" data-col="deliverable">{fmt(m.deliverable)}</td>
              <td className="num" data-col="sent">{fmt(m.sent)}</td>
              <td className="num" data-col="contradicted">{fmt(m.contradicted)}</td>
              <td className="num" data-col="rate">{rateText(m.contradiction_rate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
