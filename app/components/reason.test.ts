// Every reason code of core/verdict.ts has words, and <Reason> leads with them (and with a typo's
// suggestion), keeping the code in the title for developers.
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { REASONS } from "../../core/verdict.ts";
import { Reason, REASON_WORDS, reasonWords } from "./reason.tsx";

describe("reason words", () => {
  it("has words for every reason code, none of them the code itself", () => {
    expect(Object.keys(REASON_WORDS).sort()).toEqual([...REASONS].sort());
    for (const code of REASONS) {
      expect(REASON_WORDS[code].length, code).toBeGreaterThan(3);
      expect(REASON_WORDS[code], code).not.toContain("_");
    }
    expect(new Set(Object.values(REASON_WORDS)).size).toBe(REASONS.length);
  });

  it("reads a code it does not know as itself, without underscores", () => {
    expect(reasonWords("some_new_reason")).toBe("some new reason");
  });

  it("shows the words with the code as their title, and the code on its own line when asked", () => {
    const html = renderToStaticMarkup(createElement(Reason, { code: "mailbox_not_found", showCode: true }));
    expect(html).toContain('<span title="mailbox_not_found">No such mailbox</span>');
    expect(html).toContain('<span class="reason-code mono muted">mailbox_not_found</span>');
    expect(renderToStaticMarkup(createElement(Reason, { code: "mailbox_not_found" }))).not.toContain("reason-code");
  });

  it("leads with a typo's suggestion, before the reason", () => {
    const html = renderToStaticMarkup(createElement(Reason, { code: "no_such_domain", suggestion: "jane@gmail.com" }));
    expect(html.indexOf("Did you mean")).toBeGreaterThan(-1);
    expect(html.indexOf("Did you mean")).toBeLessThan(html.indexOf("Domain does not exist"));
    expect(html).toContain('<span class="mono">jane@gmail.com</span>?');
  });
});
