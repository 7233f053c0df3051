import { describe, expect, it } from "vitest";
import { checkTemplate, htmlToText, prepareTemplate, renderMessage, renderPrepared, TemplateError } from "./template.ts";

const URL = "https://mxray.example/u/3f-0123456789abcdef0123";

describe("templates", () => {
  it("renders the list's columns with defaults, escaping values in HTML only", () => {
    const t = { subject: "Hi {{ first_name | default: 'there' }}", html: "<p>Hello {{ first_name | default: \"there\" }} at {{ company }}</p><a href=\"{{ unsubscribe_url }}\">stop</a>", text: null };
    const ada = renderMessage(t, { first_name: "Ada", company: "<b>Engines & Co</b>" }, URL);
    expect(ada.subject).toBe("Hi Ada");
    expect(ada.html).toContain("Hello Ada at &lt;b&gt;Engines &amp; Co&lt;/b&gt;");
    expect(ada.html).toContain(`href="${URL}"`);
    expect(ada.text).toContain("Hello Ada at <b>Engines & Co</b>");
    expect(ada.text).toContain(`stop (${URL})`);
    expect(renderMessage(t, { company: "X" }, URL).subject).toBe("Hi there");
  });

  it("adds an unsubscribe footer where the template has no unsubscribe_url, before </body>", () => {
    const m = renderMessage({ subject: "s", html: "<html><body><p>News</p></body></html>", text: "News" }, {}, URL);
    expect(m.html).toMatch(new RegExp(`<p>News</p><p[^>]*>.*<a href="${URL}">Unsubscribe</a>.*</p>\\n</body></html>$`));
    expect(m.text).toContain(`Unsubscribe: ${URL}`);
    const kept = renderMessage({ subject: "s", html: "<p>{{ unsubscribe_url }}</p>", text: "out: {{ unsubscribe_url }}" }, {}, URL);
    expect(kept.html).toBe(`<p>${URL}</p>`);
    expect(kept.text).toBe(`out: ${URL}`);
  });

  it("names field, line and column of a template error", () => {
    const bad = checkTemplate({ subject: "ok", html: "<p>\n  {{ name | nosuchfilter }}</p>", text: null });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect([bad.error.field, bad.error.line, bad.error.column]).toEqual(["html", 2, 3]);
    expect(bad.error.message).toBe("html line 2, column 3: undefined filter: nosuchfilter");
    const open = checkTemplate({ subject: "Hi {{ name", html: "x", text: null });
    expect(open.ok ? null : [open.error.field, open.error.line]).toEqual(["subject", 1]);
    const text = checkTemplate({ subject: "s", html: "x", text: "a\nb\n{% if %}" });
    expect(text.ok ? null : [text.error.field, text.error.line]).toEqual(["text", 3]);
  });

  it("reads no files and runs no code: includes find nothing", () => {
    const check = checkTemplate({ subject: "s", html: 'x {% include "/etc/passwd" %}', text: null });
    expect(check.ok ? null : check.error.message).toMatch(/^html line 1, column \d+: .*Failed to lookup "\/etc\/passwd"/);
    expect(() => prepareTemplate({ subject: "s", html: '{% render "a" %}{{ unsubscribe_url }}', text: null })).toThrow(TemplateError);
    expect(renderPrepared(prepareTemplate({ subject: "s", html: "{{ x.constructor }}{{ unsubscribe_url }}", text: null }), { x: "a" }, URL).html).toBe(URL);
  });

  it("keeps a subject to one line whatever a variable holds", () => {
    expect(renderMessage({ subject: "Hi {{ n }}", html: "x", text: null }, { n: "Ada\r\nBcc: all@example.com" }, URL).subject).toBe("Hi Ada Bcc: all@example.com");
    expect(checkTemplate({ subject: "a\nb", html: "x", text: null }).ok).toBe(false);
  });

  it("lists the variables a template reads", () => {
    const check = checkTemplate({ subject: "{{ first_name }}", html: "{{ company }} {{ unsubscribe_url }}", text: null });
    expect(check.ok && check.variables).toEqual(["company", "first_name", "unsubscribe_url"]);
  });

  it("makes readable text from HTML", () => {
    expect(htmlToText('<style>p{}</style><h1>Title</h1><p>One&nbsp;&amp; two<br>three</p><ul><li>a</li><li>b</li></ul><a href="https://x.test/">https://x.test/</a>')).toBe(
      "Title\n\nOne & two\nthree\n\n- a\n- b\n\nhttps://x.test/\n",
    );
  });
});
