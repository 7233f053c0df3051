// The guides as /docs serves them (every docs/*.md indexed and rendered, links between guides
// landing on a heading), and the docs telling the truth: every relative link of README.md and
// docs/ points at something in the repository, every `npm run X` is a script, and every path of
// the repository they name in code exists (issue 22).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { headingIds, renderMarkdown } from "../../core/markdown.ts";
import { bundledSlugs, guideHref, guideImage, guideIndex, guidePage, indexedSlugs, searchGuides } from "./guides.server.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const mdIn = (dir: string) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith(".md")).map((f) => join(dir, f));
const GUIDE_FILES = mdIn("docs");
/** Every Markdown file a reader of the repository meets. */
const DOC_FILES = ["README.md", ...GUIDE_FILES, ...mdIn("docs/decisions")];
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const idsOf = (html: string) => [...html.matchAll(/ id="([^"]*)"/g)].map((m) => m[1]!);

describe("the guides of /docs", () => {
  const slugs = GUIDE_FILES.map((f) => f.slice("docs/".length, -".md".length)).sort();

  it("bundles every docs/*.md, and the index lists each once", () => {
    expect(bundledSlugs()).toEqual(slugs);
    expect([...indexedSlugs()].sort()).toEqual(slugs);
    expect(guideIndex().flatMap((s) => s.guides.map((g) => g.slug))).toEqual(indexedSlugs());
  });

  it.each(slugs)("renders %s, titled by its first heading, with no tag of its own source", (slug) => {
    const page = guidePage(slug)!;
    const title = /^# +(.+)$/m.exec(read(`docs/${slug}.md`))![1]!.replace(/[`*]/g, "");
    expect(page.title).toBe(title);
    expect(guideIndex().flatMap((s) => s.guides).find((g) => g.slug === slug)?.title).toBe(title);
    expect(page.html).toMatch(/^<h1 id="[^"]+">/);
    // Code spans are code, never backticks as typed.
    expect(page.html.replace(/<pre>[\s\S]*?<\/pre>/g, "")).not.toContain("`");
    // Only the renderer's own tags: anything written in a guide is text.
    const tags = new Set([...page.html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1]!));
    const allowed = new Set(["h1", "h2", "h3", "h4", "h5", "h6", "p", "a", "code", "pre", "ul", "ol", "li", "div", "table", "thead", "tbody", "tr", "th", "td", "strong", "em", "img", "blockquote", "hr", "br", "del", "input"]);
    expect([...tags].filter((t) => !allowed.has(t))).toEqual([]);
  });

  it("turns links between guides into /docs pages whose anchors exist", () => {
    const pages = new Map(slugs.map((s) => [s, guidePage(s)!.html]));
    const broken: string[] = [];
    let count = 0;
    for (const [slug, html] of pages) {
      for (const [, target, anchor] of html.matchAll(/href="\/docs\/([\w-]+)(?:#([^"]*))?"/g)) {
        count++;
        const to = pages.get(target!);
        if (!to || (anchor && !idsOf(to).includes(anchor))) broken.push(`${slug} → /docs/${target}${anchor ? `#${anchor}` : ""}`);
      }
    }
    expect(broken).toEqual([]);
    expect(count).toBeGreaterThan(20);
    expect(guidePage("deployment")!.html).toContain('<a href="/docs/probe#run-a-probe-on-a-vps">');
  });

  it("rewrites a guide's links: guides to /docs, other files to text, URLs and anchors as written", () => {
    expect(guideHref("webhooks.md")).toBe("/docs/webhooks");
    expect(guideHref("./probe.md#probe-configuration")).toBe("/docs/probe#probe-configuration");
    expect(guideHref("decisions/007-finder.md")).toBeNull();
    expect(guideHref("../README.md")).toBeNull();
    expect(guideHref("../../etc/passwd")).toBeNull();
    expect(guideHref("nope.md")).toBeNull();
    expect(guideHref("https://www.standardwebhooks.com/")).toBe("https://www.standardwebhooks.com/");
    expect(guideHref("#events")).toBe("#events");
  });

  it("shows the screenshots as bundled assets", () => {
    const src = guideImage("screenshots/job-1280.png");
    expect(src).toMatch(/job.*\.png$/);
    expect(guideImage("screenshots/none.png")).toBeNull();
    expect(guidePage("web-app")!.html).toContain(`<img src="${src}" alt="The finished job page at 1280 px`);
  });

  it("lists a guide's sections (h2, h3) with ids that are anchors of its page", () => {
    const page = guidePage("campaigns")!;
    expect(page.sections.length).toBeGreaterThan(3);
    expect(page.sections.every((s) => s.depth === 2 || s.depth === 3)).toBe(true);
    for (const s of page.sections) expect(page.html).toContain(`id="${s.id}"`);
    expect(page.html).toMatch(/<h2 id="[^"]+">.*<a class="anchor" href="#[^"]+" aria-label="Link to [^"]+">#<\/a><\/h2>/);
  });

  it("searches every guide's headings and text, headings first", () => {
    const hits = searchGuides("signature");
    expect(hits.length).toBeGreaterThan(2);
    expect(hits[0]!.section.toLowerCase() + hits[0]!.guide.toLowerCase()).toContain("signature");
    const pages = new Map<string, string>();
    for (const hit of hits) {
      const [, slug, anchor] = /^\/docs\/([\w-]+)(?:#(.*))?$/.exec(hit.href)!;
      const html = pages.get(slug!) ?? guidePage(slug!)!.html;
      pages.set(slug!, html);
      if (anchor) expect(html).toContain(`id="${anchor}"`);
    }
    // Every word must be there, in any case.
    expect(searchGuides("WEBHOOK retries").every((h) => `${h.guide} ${h.section} ${h.excerpt}`.length > 0)).toBe(true);
    expect(searchGuides("WEBHOOK retries").length).toBeGreaterThan(0);
    expect(searchGuides("xyzzy-no-such-word")).toEqual([]);
    expect(searchGuides("   ")).toEqual([]);
  });

  it("has no page for an unknown guide", () => {
    for (const slug of ["nope", "", "__proto__", "constructor", "../README", "decisions/007-finder", "API"]) expect(guidePage(slug)).toBeNull();
  });
});

describe("README.md and docs/ tell the truth", () => {
  it("every relative link and image points at a file or folder, and every anchor at a heading", () => {
    const broken: string[] = [];
    let count = 0;
    for (const file of DOC_FILES) {
      const targets: string[] = [];
      const record = (href: string) => (targets.push(href), href);
      renderMarkdown(read(file), { link: record, image: record });
      for (const href of targets) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // a URL
        count++;
        const hash = href.indexOf("#");
        const path = hash < 0 ? href : href.slice(0, hash);
        const anchor = hash < 0 ? "" : decodeURIComponent(href.slice(hash + 1));
        const target = path === "" ? file : relative(ROOT, join(ROOT, dirname(file), decodeURIComponent(path)));
        if (target.startsWith("..") || !existsSync(join(ROOT, target))) broken.push(`${file}: ${href} (no ${target})`);
        else if (anchor && (!target.endsWith(".md") || !headingIds(read(target)).includes(anchor))) broken.push(`${file}: ${href} (no heading #${anchor} in ${target})`);
      }
    }
    expect(broken).toEqual([]);
    expect(count).toBeGreaterThan(30);
  });

  it("every npm script they name is in package.json", () => {
    const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts);
    const missing: string[] = [];
    const named = new Set<string>();
    for (const file of DOC_FILES) {
      const text = read(file);
      for (const m of text.matchAll(/\bnpm (?:run(?:-script)?(?: +(?:-s|--silent))? +([\w:.-]+)|(start|test)\b)/g)) {
        const name = m[1] ?? m[2]!;
        named.add(name);
        if (!scripts.includes(name)) missing.push(`${file}: ${m[0]}`);
      }
    }
    expect(missing).toEqual([]);
    for (const name of ["start", "test", "demo", "mxray", "db:migrate", "zapier:build"]) expect(named).toContain(name);
  });

  it("every path of the repository they name in code exists", () => {
    // `core/verdict.ts`, `probe/deploy/alerts.yml`…; placeholders (`…`, `*`, `<x>`) are not paths.
    const PATH = /`((?:core|db|edge|app|probe|e2e|bench|client|integrations|docs)\/[^`\s*…<>{}]*)`/g;
    const missing: string[] = [];
    let count = 0;
    for (const file of DOC_FILES) {
      for (const [, named] of read(file).matchAll(PATH)) {
        count++;
        const path = named!.replace(/[:#].*$/, "");
        if (!existsSync(join(ROOT, path))) missing.push(`${file}: ${named}`);
      }
    }
    expect(missing).toEqual([]);
    expect(count).toBeGreaterThan(50);
  });
});
