// The guides of docs/ for the web app's /docs pages (issue 22). The Worker reads no files at run
// time, so Vite bundles each docs/*.md as a string and each screenshot as an asset URL at build
// time; a guide is rendered once per isolate. Links between guides become /docs/<guide> links;
// a link to any other file of the repository shows its text alone (the web app does not serve it).
import { renderMarkdown } from "./markdown.server.ts";

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

const rendered = new Map<string, { slug: string; title: string; html: string }>();

/** A guide's title and HTML, or null when there is no such guide. */
export function guidePage(slug: string): { slug: string; title: string; html: string } | null {
  const md = sourceOf.get(slug);
  if (md === undefined) return null;
  let page = rendered.get(slug);
  if (!page) {
    page = { slug, title: titleOf(md, slug), html: renderMarkdown(md, { link: guideHref, image: guideImage }) };
    rendered.set(slug, page);
  }
  return page;
}
