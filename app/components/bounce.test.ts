// A bounce's raw message on its page: text in a <pre>, its markup escaped (a bounce is mail from
// anyone), the truncation said, and a bounce posted through the API says it has none.
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { RawMessage } from "./bounce.tsx";

describe("RawMessage", () => {
  it("shows the message as escaped text, and says when it was cut", () => {
    const raw = 'Subject: Undelivered Mail\r\nContent-Type: text/html\r\n\r\n<script>alert("x")</script><img src=x onerror=alert(1)>';
    const html = renderToStaticMarkup(createElement(RawMessage, { raw, truncated: true }));
    expect(html).toContain('<pre aria-label="Raw message"');
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<img");
    expect(html).toContain("Truncated: only the first 32 KiB");
    expect(renderToStaticMarkup(createElement(RawMessage, { raw: "Status: 5.1.1", truncated: false }))).not.toContain("Truncated");
  });

  it("says a bounce from the API has no message", () => {
    expect(renderToStaticMarkup(createElement(RawMessage, { raw: null, truncated: false }))).toContain("Reported through the API: there is no message to show.");
  });
});
