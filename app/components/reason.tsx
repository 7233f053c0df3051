// A result's reason in words, with its code kept for developers (issue 26: "raw codes where
// people expect words"). Every page that shows a reason uses <Reason>; the words live in app/lib/reasons.ts.
import { reasonWords } from "../lib/reasons.ts";

export { REASON_WORDS, reasonWords } from "../lib/reasons.ts";

/**
 * A reason: words first, the code in the title and, with `code`, on a monospace second line.
 * A typo suggestion leads when there is one (docs/verdicts.md): "Did you mean gmail.com?".
 */
export function Reason({ code, suggestion = null, showCode = false }: { code: string; suggestion?: string | null; showCode?: boolean }) {
  return (
    <span className="reason" data-reason={code}>
      {suggestion && <Suggestion suggestion={suggestion} />}
      <span title={code} className={suggestion ? "muted" : undefined}>{reasonWords(code)}</span>
      {showCode && <span className="reason-code mono muted">{code}</span>}
    </span>
  );
}

/** "Did you mean jane@gmail.com?": a mistyped provider's fix (core/suggest.ts). */
export function Suggestion({ suggestion }: { suggestion: string }) {
  return (
    <strong className="suggestion" data-testid="suggestion">
      Did you mean <span className="mono">{suggestion}</span>?
    </strong>
  );
}
