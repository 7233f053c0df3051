// Markdown as the guides and the API reference show it: code as code, nothing of the source as
// markup (raw HTML, script URLs, quotes breaking out of attributes), GitHub's heading ids with a
// "#" link, and links passed through the caller's mapping.
import { describe, expect, it } from "vitest";
import { headingIds, renderInline, renderMarkdown, safeHref, slugger } from "./markdown.ts";

const html = (md: string, opts?: Parameters<typeof renderMarkdown>[1]) => renderMarkdown(md, opts).html.trim();

describe("renderMarkdown", () => {
  it("renders code spans and blocks as escaped code, never backticks", () => {
    expect(html("Use `a<b>` & go")).toBe("<p>Use <code>a&lt;b&gt;</code> &amp; go</p>");
    expect(html('```html\n<b>bold</b> & "q"\n```')).toBe('<pre><code class="language-html">&lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot;</code></pre>');
  });

  it("writes raw HTML as text, in blocks, inline and in table cells", () => {
    const out = html('<script>alert(1)</script>\n\nText <img src=x onerror="alert(1)"> more\n\n| a |\n|---|\n| <u>b</u> |');
    expect(out).not.toMatch(/<(script|img|u)\b/);
    expect(out).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(out).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(out).toContain('<div class="table-wrap"><table>');
    expect(out).toContain("&lt;u&gt;b&lt;/u&gt;");
  });

  it("gives headings GitHub's ids, numbered when repeated, and a # link below the title", () => {
    const { html: out, headings } = renderMarkdown("# Title `x`\n\n## Run a probe!\n\n## Run a probe!\n\n### <i>x</i>");
    expect(headings).toEqual([
      { depth: 1, id: "title-x", text: "Title x" },
      { depth: 2, id: "run-a-probe", text: "Run a probe!" },
      { depth: 2, id: "run-a-probe-1", text: "Run a probe!" },
      { depth: 3, id: "ixi", text: "<i>x</i>" },
    ]);
    expect(out).toContain('<h1 id="title-x">Title <code>x</code></h1>');
    expect(out).toContain('<h2 id="run-a-probe-1">Run a probe! <a class="anchor" href="#run-a-probe-1" aria-label="Link to Run a probe!">#</a></h2>');
    expect(out).toContain('<h3 id="ixi">&lt;i&gt;x&lt;/i&gt; <a class="anchor" href="#ixi" aria-label="Link to &lt;i&gt;x&lt;/i&gt;">#</a></h3>');
    expect(headingIds("# A\n\n```sh\n# not a heading\n```\n\n## A")).toEqual(["a", "a-1"]);
  });

  it("maps links and images through the caller, and shows a refused or unsafe one as text", () => {
    const link = (href: string) => (href.includes("README") ? null : href.endsWith(".md") ? `/docs/${href.slice(0, -3)}` : href);
    expect(html("[jobs](jobs.md) [r](../README.md) [w](https://x.test/a)", { link })).toBe('<p><a href="/docs/jobs">jobs</a> r <a href="https://x.test/a">w</a></p>');
    for (const href of ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "vbscript:x", "//evil.example/x"]) {
      expect(html(`[go](${href})`)).toBe("<p>go</p>");
    }
    expect(html("[go](x.md)", { link: () => "javascript:alert(1)" })).toBe("<p>go</p>");
    expect(html('[x](<a"onmouseover="alert(1)>)')).toBe('<p><a href="a&quot;onmouseover=&quot;alert(1)">x</a></p>');
    expect(html('![a"b](p.png)', { image: (s) => `/assets/${s}` })).toBe('<p><img src="/assets/p.png" alt="a&quot;b" loading="lazy"></p>');
    expect(html("![pic](p.png)")).toBe("<p>pic</p>");
  });

  it("lets only http, https, mailto, fragments and paths through", () => {
    expect(["https://x.test/a", "http://127.0.0.1:8787", "mailto:a@b.test", "#id", "/docs/api", "api.md#x"].every(safeHref)).toBe(true);
    expect(["javascript:x", "file:///etc/passwd", "java\tscript:x", "//x.test", "a b"].some(safeHref)).toBe(false);
  });

  it("numbers repeated slugs without colliding with a written one", () => {
    const slug = slugger();
    expect(["a", "a", "a-1", "a"].map(slug)).toEqual(["a", "a-1", "a-1-1", "a-2"]);
  });
});

describe("renderInline", () => {
  it("renders one line without its paragraph", () => {
    expect(renderInline("How often our `deliverable` verdicts <b>bounced</b>")).toBe("How often our <code>deliverable</code> verdicts &lt;b&gt;bounced&lt;/b&gt;");
  });
});
