// Markdown to HTML with `marked` (issue 26), for the guides of /docs and the operation descriptions
// of the API reference: GitHub-flavoured, with GitHub's heading ids (so `probe.md#run-a-probe-on-a-vps`
// lands where it does on GitHub) and a "#" link beside each section heading. Nothing written in the
// source becomes markup: raw HTML is shown as text (the guides are ours, but the API's descriptions
// come from code, and one renderer serves both), code is escaped, and a link or image whose URL has a
// scheme other than http, https or mailto is shown as its text.
import { Marked, type Tokens } from "marked";

export interface RenderOptions {
  /** Where a link goes (its href as written), or null to show its text alone. Default: as written. */
  link?: (href: string) => string | null;
  /** An image's URL (its src as written), or null to show its alt text alone. Default: none. */
  image?: (src: string) => string | null;
}

/** A heading of a rendered document: its level, its id (the anchor) and its plain text. */
export interface Heading {
  depth: number;
  id: string;
  text: string;
}

export interface Rendered {
  html: string;
  headings: Heading[];
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** An href we write as a link: http(s), mailto, a fragment, or a path; never javascript:, data: and the like. */
export function safeHref(href: string): boolean {
  if (/[\u0000-\u001f\u007f\s]/.test(href)) return false;
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(href);
  return scheme === null ? !href.startsWith("//") : /^(?:https?|mailto):/i.test(href);
}

/** GitHub's heading ids (github-slugger): lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function slugger(): (heading: string) => string {
  const seen = new Map<string, number>();
  return (heading) => {
    const base = heading.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
    let id = base;
    let n = seen.get(base) ?? 0;
    while (seen.has(id)) id = `${base}-${++n}`;
    seen.set(base, n);
    seen.set(id, 0);
    return id;
  };
}

/** The document as HTML, and its headings in order. A new parser per document: the ids' numbering is per document. */
export function renderMarkdown(md: string, opts: RenderOptions = {}): Rendered {
  const slug = slugger();
  const headings: Heading[] = [];
  const marked = new Marked({
    gfm: true,
    async: false,
    renderer: {
      heading({ tokens, depth }: Tokens.Heading) {
        const text = this.parser.parseInline(tokens, this.parser.textRenderer);
        const id = slug(text);
        headings.push({ depth, id, text });
        const inner = this.parser.parseInline(tokens);
        // The title (h1) needs no link to itself; a section's "#" is its shareable address.
        const anchor = depth === 1 ? "" : ` <a class="anchor" href="#${escapeHtml(id)}" aria-label="Link to ${escapeHtml(text)}">#</a>`;
        return `<h${depth} id="${escapeHtml(id)}">${inner}${anchor}</h${depth}>\n`;
      },
      html({ text }: Tokens.HTML | Tokens.Tag) {
        return escapeHtml(text);
      },
      code({ text, lang }: Tokens.Code) {
        const language = lang && /^[\w+-]+$/.test(lang) ? ` class="language-${lang}"` : "";
        return `<pre><code${language}>${escapeHtml(text.replace(/\n$/, ""))}</code></pre>\n`;
      },
      link({ href, title, tokens }: Tokens.Link) {
        const inner = this.parser.parseInline(tokens);
        const to = opts.link ? opts.link(href) : href;
        if (to === null || !safeHref(to)) return inner;
        return `<a href="${escapeHtml(to)}"${title ? ` title="${escapeHtml(title)}"` : ""}>${inner}</a>`;
      },
      image({ href, text }: Tokens.Image) {
        const src = opts.image?.(href) ?? null;
        if (src === null || !safeHref(src)) return escapeHtml(text);
        return `<img src="${escapeHtml(src)}" alt="${escapeHtml(text)}" loading="lazy">`;
      },
    },
  });
  const html = (marked.parse(md) as string)
    // Wide tables scroll inside their own box (the app's .table-wrap), not the page. Every <table>
    // here is the renderer's: a table written as HTML in the source was escaped above.
    .replaceAll("<table>", '<div class="table-wrap"><table>')
    .replaceAll("</table>", "</table></div>");
  return { html, headings };
}

/** The id of every heading of a document, in order: the anchors a link may name. */
export const headingIds = (md: string): string[] => renderMarkdown(md, { link: () => null }).headings.map((h) => h.id);

/** One line of Markdown (a summary, a response's description) as inline HTML, without its paragraph. */
export const renderInline = (md: string): string => renderMarkdown(md).html.trim().replace(/^<p>([\s\S]*)<\/p>$/, "$1");
