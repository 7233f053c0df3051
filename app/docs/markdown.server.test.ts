// The guides' Markdown renderer: nothing of the source reaches the page as markup (raw HTML,
// script URLs, quotes breaking out of attributes), and the subset the guides use renders as
// GitHub renders it (heading ids included, so links between guides land).
import { describe, expect, it } from "vitest";
import { headingIds, renderMarkdown, safeHref, slugger } from "./markdown.server.ts";

describe("escaping", () => {
  it("writes raw HTML as text, in blocks and inline", () => {
    const html = renderMarkdown('<script>alert(1)</script>\n\nText <img src=x onerror="alert(1)"> & more');
    expect(html).toBe("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n<p>Text &lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more</p>");
  });

  it("escapes code spans, code blocks, headings, table cells and link text", () => {
    expect(renderMarkdown("`<b>`")).toBe("<p><code>&lt;b&gt;</code></p>");
    expect(renderMarkdown("```html\n<b>bold</b> & \"q\"\n```")).toBe('<pre><code class="language-html">&lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot;</code></pre>');
    expect(renderMarkdown("# <i>x</i>")).toBe('<h1 id="ixi">&lt;i&gt;x&lt;/i&gt;</h1>');
    expect(renderMarkdown("| a |\n|---|\n| <u>b</u> |")).toContain("<td>&lt;u&gt;b&lt;/u&gt;</td>");
    expect(renderMarkdown("[<em>x</em>](a.md)")).toBe('<p><a href="a.md">&lt;em&gt;x&lt;/em&gt;</a></p>');
  });

  it("shows a link with a script or data URL as its text", () => {
    for (const href of ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>", "vbscript:x", "//evil.example/x"]) {
      expect(renderMarkdown(`[go](${href})`)).toBe("<p>go</p>");
    }
    expect(renderMarkdown("![pic](javascript:alert(1))", { image: (s) => s })).toBe("<p>pic</p>");
    // A callback that answers a bad URL is refused too.
    expect(renderMarkdown("[go](x.md)", { link: () => "javascript:alert(1)" })).toBe("<p>go</p>");
  });

  it("keeps quotes inside attributes", () => {
    const html = renderMarkdown('[x](<a"onmouseover="alert(1)>)');
    expect(html).toBe('<p><a href="a&quot;onmouseover=&quot;alert(1)">x</a></p>');
    expect(renderMarkdown('![a"b](p.png)', { image: (s) => `/assets/${s}` })).toBe('<p><img src="/assets/p.png" alt="a&quot;b" loading="lazy"></p>');
  });

  it("lets only http, https, mailto, fragments and paths through", () => {
    expect(["https://x.test/a", "http://127.0.0.1:8787", "mailto:a@b.test", "#id", "/docs/api", "api.md#x"].every(safeHref)).toBe(true);
    expect(["javascript:x", "file:///etc/passwd", "java\tscript:x", "//x.test", "a b"].some(safeHref)).toBe(false);
  });
});

describe("links and images", () => {
  it("passes each link through the callback, and shows the text alone when it answers null", () => {
    const link = (href: string) => (href.endsWith(".md") ? `/docs/${href.slice(0, -3)}` : href.endsWith(".md#two") ? "/docs/a#two" : null);
    expect(renderMarkdown("See [the jobs guide](jobs.md), [A](a.md#two) and [code](../probe/cli.ts).", { link })).toBe(
      '<p>See <a href="/docs/jobs">the jobs guide</a>, <a href="/docs/a#two">A</a> and code.</p>',
    );
  });

  it("links bare and angle-bracket URLs, without trailing punctuation", () => {
    expect(renderMarkdown("Open http://127.0.0.1:8787. Or <https://x.test/a>")).toBe(
      '<p>Open <a href="http://127.0.0.1:8787">http://127.0.0.1:8787</a>. Or <a href="https://x.test/a">https://x.test/a</a></p>',
    );
    expect(renderMarkdown("(see https://x.test/a)")).toBe('<p>(see <a href="https://x.test/a">https://x.test/a</a>)</p>');
  });

  it("renders an image only where the callback gives it a URL, else its alt text", () => {
    expect(renderMarkdown("![The job page](screenshots/job.png)", { image: (s) => (s === "screenshots/job.png" ? "/assets/job-1a2b.png" : null) })).toBe(
      '<p><img src="/assets/job-1a2b.png" alt="The job page" loading="lazy"></p>',
    );
    expect(renderMarkdown("![The job page](screenshots/job.png)")).toBe("<p>The job page</p>");
  });

  it("reads code inside link text and brackets inside code", () => {
    expect(renderMarkdown("[`npm start`](getting-started.md) and `a[0](b)`")).toBe('<p><a href="getting-started.md"><code>npm start</code></a> and <code>a[0](b)</code></p>');
  });
});

describe("blocks", () => {
  it("gives headings GitHub's ids, numbering repeats", () => {
    const md = "# The probe\n## Run a probe on a VPS\n### `PROBE_ID` and *more*!\n## Run a probe on a VPS";
    expect(headingIds(md)).toEqual(["the-probe", "run-a-probe-on-a-vps", "probe_id-and-more", "run-a-probe-on-a-vps-1"]);
    expect(renderMarkdown(md)).toContain('<h2 id="run-a-probe-on-a-vps-1">Run a probe on a VPS</h2>');
    const slug = slugger();
    expect([slug("Deploy, step by step"), slug("Ünïcode ß"), slug("a-1"), slug("a"), slug("a")]).toEqual(["deploy-step-by-step", "ünïcode-ß", "a-1", "a", "a-2"]);
  });

  it("ignores headings inside code blocks", () => {
    expect(headingIds("```sh\n# a comment\n```\n# Real")).toEqual(["real"]);
  });

  it("renders fenced code as written, ~~~ fences and unclosed fences included", () => {
    expect(renderMarkdown("```\n  indented\n\n*not emphasis*\n```")).toBe("<pre><code>  indented\n\n*not emphasis*</code></pre>");
    expect(renderMarkdown("~~~\n```\n~~~")).toBe("<pre><code>```</code></pre>");
    expect(renderMarkdown("```js\nlet a")).toBe('<pre><code class="language-js">let a</code></pre>');
  });

  it("renders tables with alignment, escaped pipes and inline markup", () => {
    const md = "| name | n | what |\n|:---|---:|:---:|\n| `a\\|b` | 1 | **bold** |\n| short |";
    expect(renderMarkdown(md)).toBe(
      '<div class="table-wrap"><table><thead><tr><th scope="col" style="text-align:left">name</th><th scope="col" style="text-align:right">n</th><th scope="col" style="text-align:center">what</th></tr></thead>' +
        '<tbody><tr><td style="text-align:left"><code>a|b</code></td><td style="text-align:right">1</td><td style="text-align:center"><strong>bold</strong></td></tr>' +
        '<tr><td style="text-align:left">short</td><td style="text-align:right"></td><td style="text-align:center"></td></tr></tbody></table></div>',
    );
  });

  it("does not take a line with a pipe for a table without its delimiter row", () => {
    expect(renderMarkdown("a | b\nc")).toBe("<p>a | b\nc</p>");
  });

  it("renders nested and ordered lists, with code blocks and paragraphs inside items", () => {
    const md = "1. **Build.** Then:\n   ```sh\n   npm install\n   ```\n   Each line reads `ok`.\n2. Install:\n   - one\n     continued\n   - two\n\nAfter.";
    expect(renderMarkdown(md)).toBe(
      '<ol><li><strong>Build.</strong> Then:\n<pre><code class="language-sh">npm install</code></pre>\nEach line reads <code>ok</code>.</li>' +
        "<li>Install:\n<ul><li>one\ncontinued</li><li>two</li></ul></li></ol>\n<p>After.</p>",
    );
    expect(renderMarkdown("3. three\n4. four")).toBe('<ol start="3"><li>three</li><li>four</li></ol>');
  });

  it("wraps the items of a loose list in paragraphs", () => {
    expect(renderMarkdown("- one\n\n- two")).toBe("<ul><li><p>one</p></li><li><p>two</p></li></ul>");
  });

  it("renders rules, block quotes, bold and italics, and leaves snake_case and lone stars alone", () => {
    expect(renderMarkdown("---")).toBe("<hr>");
    expect(renderMarkdown("> quoted *text*")).toBe("<blockquote><p>quoted <em>text</em></p></blockquote>");
    expect(renderMarkdown("**bold** and *it* and _it_ in MXRAY_DEV_API_KEY, 5 * 3 and a*b")).toBe(
      "<p><strong>bold</strong> and <em>it</em> and <em>it</em> in MXRAY_DEV_API_KEY, 5 * 3 and a*b</p>",
    );
    expect(renderMarkdown("\\*not\\* \\`code\\`")).toBe("<p>*not* `code`</p>");
  });
});
