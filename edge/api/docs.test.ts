// The API reference page (/api/v1/docs, issue 26): grouped by tag with a side menu of every
// operation, descriptions rendered as Markdown (no backticks as typed, no raw HTML), styled by its
// own stylesheet, and an icon that exists (so a browser logs no 404 for /favicon.ico).
import { describe, expect, it } from "vitest";
import { call } from "../testing.ts";

describe("GET /api/v1/docs", () => {
  it("is a styled page grouped by tag, with a menu of operations and Markdown descriptions", async () => {
    const res = await call("/api/v1/docs");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<style>[^<]*font:15px\/1.5 system-ui/);
    expect(html).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml">');
    const nav = /<nav class="card ref-nav" aria-label="Operations">([\s\S]*?)<\/nav>/.exec(html)![1]!;
    expect(nav).toContain('<a href="#POST-/api/v1/jobs"><span class="method">POST</span> <code>/api/v1/jobs</code></a>');
    expect(nav).toContain('<h2><a href="#tag-jobs">Jobs</a></h2>');
    // Every operation the menu lists is on the page, under its tag's heading.
    for (const [, id] of nav.matchAll(/href="#((?:GET|POST|PUT|PATCH|DELETE)-[^"]+)"/g)) expect(html).toContain(`<article class="op" id="${id}">`);
    expect(html.indexOf('id="tag-jobs"')).toBeLessThan(html.indexOf('id="POST-/api/v1/jobs"'));
    // Descriptions are Markdown: code spans are <code>, none of the text outside code blocks keeps a backtick.
    expect(html).toContain("<code>rate_limited</code>");
    const text = html.replace(/<style>[\s\S]*?<\/style>/, "").replace(/<pre>[\s\S]*?<\/pre>/g, "");
    expect(text).not.toContain("`");
  });

  it("sends /favicon.ico to the app's icon", async () => {
    const res = await call("/favicon.ico", { redirect: "manual" });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/favicon.svg");
  });
});
