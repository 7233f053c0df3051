// A bounce's message as read (its head and report, at most MAX_BOUNCE_RAW characters), shown as
// text: whatever HTML or script a bounce carries is escaped, never rendered.
import { MAX_BOUNCE_RAW } from "../../core/contracts.ts";

export function RawMessage({ raw, truncated }: { raw: string | null; truncated: boolean }) {
  if (raw === null) return <p className="muted">Reported through the API: there is no message to show.</p>;
  return (
    <>
      <pre aria-label="Raw message" style={{ whiteSpace: "pre-wrap", wordBreak: "break-all", maxHeight: "40rem" }}>{raw}</pre>
      {truncated && <p className="muted" data-testid="raw-truncated">Truncated: only the first {Math.round(MAX_BOUNCE_RAW / 1024)} KiB (its head and report) were kept.</p>}
    </>
  );
}
