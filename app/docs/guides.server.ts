// The guides of docs/ for the web app's /docs pages (issue 22). The Worker reads no files at run
// time, so Vite bundles each docs/*.md as a string and each screenshot as an asset URL at build
// time; a guide is rendered once per isolate. Links between guides become /docs/<guide> links;
// a link to any other file of the repository shows its text alone (the web app does not serve it).
// Markdown is rendered by core/markdown.ts (marked); the side menu lists a guide's sections and the
// search box looks through every section's title and text (issue 26).
import { Lexer } from "marked";
import { renderMarkdown, type Heading } from "../../core/markdown.ts";

const SOURCES = import.meta.glob<string>("../../docs/*.md", { query: "?raw", import: "default", eager: true });
const IMAGES = import.meta.glob<string>("../../docs/screenshots/*.png", { query: "?url", import: "default", eager: true });

export interface GuideEntry {
  slug: string;
  title: string;
  /** One line on the index: what the guide answers. */
  blurb: string;
}

/** The index, in reading order. Every docs/*.md is in it once (a test holds it to the folder). */
const SECTIONS: { title: string; guides: [slug: string, blurb: string][] }[] = [
  {
    title: "Use mxray",
    guides: [
      ["getting-started", "From nothing to a verified list: run it, sign in, upload, watch, export; then the API and the CLI"],
      ["web-app", "Every page of the web app, sign-in and roles"],
      ["api", "The REST API: keys, errors, rate limits, single checks, the command line and the typed client"],
      ["jobs", "Bulk jobs and exports: upload formats, columns, progress, the live socket, downloads, cancel and delete"],
      ["finder", "Finding a person's address: patterns, confidence, catch-all domains, decision makers, costs"],
      ["widget", "The sign-up form widget: one script and a publishable key check addresses as people type them in"],
      ["verdicts", "What each verdict and reason means, and how they read in other services"],
      ["campaigns", "Sending to a verified list through your own relays: senders, templates, statuses, one-click unsubscribe, suppressions"],
      ["bounces", "Bounce mailboxes over IMAP, how a bounce is read, suppression and soft scores, refunds when a deliverable address bounces"],
      ["webhooks", "Signed events to your endpoints: events, headers, retries, verifying a signature"],
      ["zapier", "mxray in Zapier: triggers, actions, and publishing the integration"],
      ["billing", "Credits, packs and plans, Stripe's events, auto top-up"],
      ["data-protection", "For your DPO: what is kept about the people on your lists, where, for how long; retention and erasure"],
    ],
  },
  {
    title: "Run mxray",
    guides: [
      ["probe", "The probe: its CLI, the daemon, self-hosting one on a VPS, its configuration"],
      ["configuration", "Every setting of the edge (the Worker)"],
      ["deployment", "What to create on Cloudflare, Turso, Upstash, Stripe and Clerk, and which secret goes where"],
      ["operations", "Health checks, metrics and alerts"],
      ["security", "The threat model, each boundary's checks, and how to report a hole"],
      ["local-development", "The simulated mail world and the local stand-ins"],
    ],
  },
  {
    title: "Inside mxray",
    guides: [
      ["architecture", "How the parts are built: the probe, the database, the repository's folders"],
      ["benchmarks", "Each benchmark and today's figures"],
    ],
  },
];

const sourceOf = new Map(Object.entries(SOURCES).map(([path, text]) => [path.slice(path.lastIndexOf("/") + 1, -".md".length), text]));
const imageOf = new Map(Object.entries(IMAGES).map(([path, url]) => [path.slice("../../".length), url]));

const titleOf = (md: string, slug: string) => /^# +(.+?)\s*$/m.exec(md)?.[1]?.replace(/[`*]/g, "") ?? slug;

/** The guides by section, in reading order, for the index and the side navigation. */
export function guideIndex(): { title: string; guides: GuideEntry[] }[] {
  return SECTIONS.map((section) => ({
    title: section.title,
    guides: section.guides.filter(([slug]) => sourceOf.has(slug)).map(([slug, blurb]) => ({ slug, title: titleOf(sourceOf.get(slug)!, slug), blurb })),
  }));
}

/** Every slug the index lists (a test compares it with docs/). */
export const indexedSlugs = (): string[] => SECTIONS.flatMap((s) => s.guides.map(([slug]) => slug));

/** Every guide bundled from docs/. */
export const bundledSlugs = (): string[] => [...sourceOf.keys()].sort();

/** `a/./b/../c` → `a/c`; null when it climbs out of the repository. */
function normalize(path: string): string | null {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(part);
  }
  return out.join("/");
}

/** A link of a guide (relative to docs/) as the web app serves it, or null to show its text alone. */
export function guideHref(href: string): string | null {
  if (href.startsWith("#") || /^[a-z][a-z0-9+.-]*:/i.test(href)) return href;
  const hash = href.indexOf("#");
  const path = normalize(`docs/${hash < 0 ? href : href.slice(0, hash)}`);
  const slug = path ? /^docs\/([\w-]+)\.md$/.exec(path)?.[1] : undefined;
  if (!slug || !sourceOf.has(slug)) return null;
  return `/docs/${slug}${hash < 0 ? "" : href.slice(hash)}`;
}

/** An image of a guide (relative to docs/) as a bundled asset URL, or null. */
export function guideImage(src: string): string | null {
  const path = normalize(`docs/${src}`);
  return (path && imageOf.get(path)) ?? null;
}

/** A guide as /docs shows it: its HTML, its sections (h2 and h3, for the side menu) and each section's text (for search). */
export interface GuidePage {
  slug: string;
  title: string;
  html: string;
  sections: Heading[];
}

interface SearchSection {
  slug: string;
  guide: string;
  /** The heading's id, or "" for the guide's opening (under its title). */
  id: string;
  title: string;
  text: string;
}

const rendered = new Map<string, GuidePage & { searchable: SearchSection[] }>();

/** Markdown as the words a reader sees: code, emphasis and link marks dropped, whitespace joined. */
const plain = (md: string) =>
  md
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[`*_>#|]+/g, " ")
    .replace(/^\s*[-:| ]+$/gm, " ")
    .replace(/\s+/g, " ")
    .trim();

function build(slug: string, md: string): GuidePage & { searchable: SearchSection[] } {
  const title = titleOf(md, slug);
  const { html, headings } = renderMarkdown(md, { link: guideHref, image: guideImage });
  // The lexer's top-level headings come in the renderer's order; the text between two headings is the first one's section.
  const searchable: SearchSection[] = [{ slug, guide: title, id: "", title, text: "" }];
  let next = 0;
  for (const token of new Lexer({ gfm: true }).lex(md)) {
    if (token.type === "heading") {
      const h = headings[next++];
      if (h && h.depth > 1) searchable.push({ slug, guide: title, id: h.id, title: h.text, text: "" });
    } else searchable[searchable.length - 1]!.text += ` ${token.raw}`;
  }
  for (const s of searchable) s.text = plain(s.text);
  return { slug, title, html, sections: headings.filter((h) => h.depth === 2 || h.depth === 3), searchable };
}

function page(slug: string) {
  const md = sourceOf.get(slug);
  if (md === undefined) return null;
  let built = rendered.get(slug);
  if (!built) {
    built = build(slug, md);
    rendered.set(slug, built);
  }
  return built;
}

/** A guide's title, HTML and sections, or null when there is no such guide. */
export function guidePage(slug: string): GuidePage | null {
  const built = page(slug);
  return built && { slug: built.slug, title: built.title, html: built.html, sections: built.sections };
}

export interface SearchHit {
  /** Where it is: /docs/<guide>#<section>. */
  href: string;
  guide: string;
  section: string;
  /** A few words around the first match. */
  excerpt: string;
}

/**
 * The sections of every guide whose guide title, heading or text hold every word of the query
 * (case-insensitive), headings that match first; at most `limit`.
 */
export function searchGuides(query: string, limit = 30): SearchHit[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean).slice(0, 8);
  if (words.length === 0) return [];
  const hits: (SearchHit & { rank: number })[] = [];
  for (const slug of indexedSlugs()) {
    for (const s of page(slug)?.searchable ?? []) {
      const haystack = `${s.guide} ${s.title} ${s.text}`.toLowerCase();
      if (!words.every((w) => haystack.includes(w))) continue;
      const heading = `${s.guide} ${s.title}`.toLowerCase();
      const at = s.text.toLowerCase().indexOf(words[0]!);
      const from = Math.max(0, at - 60);
      const excerpt = at < 0 ? s.text.slice(0, 140) : `${from > 0 ? "…" : ""}${s.text.slice(from, at + 100)}…`;
      hits.push({ href: `/docs/${slug}${s.id ? `#${s.id}` : ""}`, guide: s.guide, section: s.id ? s.title : "", excerpt, rank: words.filter((w) => heading.includes(w)).length });
    }
  }
  return hits
    .sort((a, b) => b.rank - a.rank)
    .slice(0, limit)
    .map(({ rank: _rank, ...hit }) => hit);
}
