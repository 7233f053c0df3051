// A small Markdown renderer for the guides in docs/ (issue 22), so /docs can show them without a
// dependency: the subset they use (ATX headings, paragraphs, nested lists, fenced code, GFM
// tables, block quotes, rules, code spans, links, images, bold, italics, bare URLs), with GitHub's
// heading ids so a link such as `probe.md#run-a-probe-on-a-vps` lands where it does on GitHub.
// There is no raw HTML: every character of the source is escaped, and a link or image whose URL
// has a scheme other than http, https or mailto is shown as its text, so a guide cannot inject
// markup or script.

export interface RenderOptions {
  /** Where a link goes (its href as written), or null to show its text alone. Default: as written. */
  link?: (href: string) => string | null;
  /** An image's URL (its src as written), or null to show its alt text alone. Default: none. */
  image?: (src: string) => string | null;
}

type Align = "left" | "center" | "right" | null;

type Block =
  | { t: "heading"; depth: number; text: string }
  | { t: "para"; text: string }
  | { t: "code"; lang: string; text: string }
  | { t: "list"; ordered: boolean; start: number; tight: boolean; items: Block[][] }
  | { t: "table"; align: Align[]; head: string[]; rows: string[][] }
  | { t: "quote"; blocks: Block[] }
  | { t: "hr" };

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

// ---------------------------------------------------------------------------------------------
// Blocks

const FENCE = /^( {0,3})(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])( +|$)(.*)$/;
const DELIMITER_ROW = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

const blank = (line: string) => line.trim() === "";
const indentOf = (line: string) => line.length - line.trimStart().length;

/** A list item's marker: its kind (a bullet character, or the ordered delimiter) and where its content starts. */
function listItem(line: string): { kind: string; ordered: boolean; start: number; contentIndent: number; rest: string } | null {
  const m = LIST_ITEM.exec(line);
  if (!m) return null;
  const [, lead, marker, gap, rest] = m as unknown as [string, string, string, string, string];
  const ordered = /\d/.test(marker);
  // Five or more spaces after the marker: the content starts one space in (CommonMark 5.2).
  const width = gap.length === 0 || gap.length > 4 ? 1 : gap.length;
  const extra = gap.length > 4 ? " ".repeat(gap.length - 1) : "";
  return { kind: ordered ? marker.slice(-1) : marker, ordered, start: ordered ? Number(marker.slice(0, -1)) : 1, contentIndent: lead.length + marker.length + width, rest: extra + rest };
}

/** Whether a line opens a block that ends a paragraph. */
function interrupts(line: string): boolean {
  if (FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line)) return true;
  const item = listItem(line);
  // An ordered list interrupts a paragraph only from 1, and an empty item never does (CommonMark 5.2).
  return item !== null && item.rest.trim() !== "" && (!item.ordered || item.start === 1);
}

/** Cells of a table row: split at pipes not escaped, the outer pipes dropped, `\|` read as `|`. */
function cells(line: string): string[] {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

function alignOf(cell: string): Align {
  const left = cell.startsWith(":");
  const right = cell.endsWith(":");
  return left && right ? "center" : right ? "right" : left ? "left" : null;
}

function parseBlocks(lines: string[]): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (blank(line)) {
      i++;
      continue;
    }

    const fence = FENCE.exec(line);
    if (fence) {
      const [, lead, ticks, lang] = fence as unknown as [string, string, string, string];
      const close = new RegExp(`^ {0,3}${ticks[0] === "`" ? "`" : "~"}{${ticks.length},}[ \\t]*$`);
      const body: string[] = [];
      i++;
      while (i < lines.length && !close.test(lines[i]!)) {
        const l = lines[i]!;
        body.push(l.slice(Math.min(lead.length, indentOf(l))));
        i++;
      }
      i++; // the closing fence (or the end: an unclosed fence runs to the end, as in CommonMark)
      blocks.push({ t: "code", lang, text: body.join("\n") });
      continue;
    }

    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ t: "heading", depth: heading[1]!.length, text: heading[2] ?? "" });
      i++;
      continue;
    }

    if (RULE.test(line)) {
      blocks.push({ t: "hr" });
      i++;
      continue;
    }

    if (QUOTE.test(line)) {
      const inner: string[] = [];
      while (i < lines.length && !blank(lines[i]!)) {
        const q = QUOTE.exec(lines[i]!);
        inner.push(q ? q[1]! : lines[i]!); // a line without `>` continues the quote's paragraph
        i++;
      }
      blocks.push({ t: "quote", blocks: parseBlocks(inner) });
      continue;
    }

    const first = listItem(line);
    if (first) {
      const items: Block[][] = [];
      let tight = true;
      while (i < lines.length) {
        const item = listItem(lines[i]!);
        if (!item || item.kind !== first.kind || indentOf(lines[i]!) > 3) break;
        const content = [item.rest];
        i++;
        while (i < lines.length) {
          const l = lines[i]!;
          if (blank(l)) content.push("");
          else if (indentOf(l) >= item.contentIndent) content.push(l.slice(item.contentIndent));
          // A lazy continuation line carries on the item's paragraph; a marker starts the next item.
          else if (!blank(content.at(-1)!) && !interrupts(l) && !listItem(l)) content.push(l.trimStart());
          else break;
          i++;
        }
        let trailing = 0;
        while (content.length > 1 && blank(content.at(-1)!)) {
          content.pop();
          trailing++;
        }
        if (content.some(blank)) tight = false;
        items.push(parseBlocks(content));
        const next = i < lines.length ? listItem(lines[i]!) : null;
        if (trailing > 0 && next && next.kind === first.kind) tight = false;
      }
      blocks.push({ t: "list", ordered: first.ordered, start: first.start, tight, items });
      continue;
    }

    const next = lines[i + 1];
    if (line.includes("|") && next !== undefined && DELIMITER_ROW.test(next) && next.includes("-")) {
      const head = cells(line);
      const delimiters = cells(next);
      if (delimiters.length === head.length) {
        const rows: string[][] = [];
        i += 2;
        while (i < lines.length && !blank(lines[i]!) && !interrupts(lines[i]!)) {
          const row = cells(lines[i]!);
          rows.push(head.map((_, c) => row[c] ?? ""));
          i++;
        }
        blocks.push({ t: "table", align: delimiters.map(alignOf), head, rows });
        continue;
      }
    }

    const para = [line.trim()];
    i++;
    while (i < lines.length && !blank(lines[i]!) && !interrupts(lines[i]!)) {
      para.push(lines[i]!.trim());
      i++;
    }
    blocks.push({ t: "para", text: para.join("\n") });
  }
  return blocks;
}

const parse = (md: string): Block[] => parseBlocks(md.replace(/\r\n?/g, "\n").split("\n"));

// ---------------------------------------------------------------------------------------------
// Inline

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;
const BARE_URL = /^https?:\/\/[^\s<>"'`]*[^\s<>"'`.,;:!?*)\]]/;
const SAFE_SCHEME = /^(?:https?|mailto):/i;

/** An href we write as a link: http(s), mailto, a fragment, or a path; never javascript:, data: and the like. */
export function safeHref(href: string): boolean {
  if (/[\u0000-\u001f\u007f\s]/.test(href)) return false;
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(href);
  return scheme === null ? !href.startsWith("//") : SAFE_SCHEME.test(href);
}

interface Inline {
  opts: RenderOptions;
  /** Plain text (a heading's id) instead of HTML. */
  text: boolean;
  /** Inside a link's text: no links within it. */
  inLink: boolean;
}

/** The `]` closing the bracket opened at `from`, skipping code spans and escapes. */
function closingBracket(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") i++;
    else if (c === "`") {
      const run = /^`+/.exec(s.slice(i))![0];
      const end = s.indexOf(run, i + run.length);
      if (end > 0) i = end + run.length - 1;
    } else if (c === "[") depth++;
    else if (c === "]" && --depth === 0) return i;
  }
  return -1;
}

/** A link destination after `](` at `from`: `(url)` or `(url "title")`, with balanced parentheses. */
function destination(s: string, from: number): { href: string; end: number } | null {
  if (s[from] !== "(") return null;
  let i = from + 1;
  let href = "";
  if (s[i] === "<") {
    const close = s.indexOf(">", i);
    if (close < 0) return null;
    href = s.slice(i + 1, close);
    i = close + 1;
  } else {
    let depth = 0;
    const start = i;
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (c === "\\") i++;
      else if (c === "(") depth++;
      else if (c === ")") {
        if (depth === 0) break;
        depth--;
      } else if (/\s/.test(c)) break;
    }
    href = s.slice(start, i);
  }
  const title = /^\s*(?:"[^"]*"|'[^']*')?\s*\)/.exec(s.slice(i));
  if (!title) return null;
  return { href, end: i + title[0].length };
}

function inline(s: string, ctx: Inline): string {
  let out = "";
  const text = (t: string) => (out += ctx.text ? t : escapeHtml(t));
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    const rest = s.slice(i);

    if (c === "\\" && PUNCTUATION.test(s[i + 1] ?? "")) {
      text(s[i + 1]!);
      i += 2;
      continue;
    }

    if (c === "`") {
      const run = /^`+/.exec(rest)![0];
      const end = s.indexOf(run, i + run.length);
      // The closing run must be exactly as long: a longer one is not it.
      if (end > 0 && s[end + run.length] !== "`") {
        let code = s.slice(i + run.length, end).replace(/\n/g, " ");
        if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ") && code.trim() !== "") code = code.slice(1, -1);
        out += ctx.text ? code : `<code>${escapeHtml(code)}</code>`;
        i = end + run.length;
        continue;
      }
      text(run);
      i += run.length;
      continue;
    }

    const image = c === "!" && s[i + 1] === "[";
    if ((c === "[" || image) && !(ctx.inLink && !image)) {
      const open = image ? i + 1 : i;
      const close = closingBracket(s, open);
      const dest = close > 0 ? destination(s, close + 1) : null;
      if (dest) {
        const label = s.slice(open + 1, close);
        i = dest.end;
        if (image) {
          const alt = inline(label, { ...ctx, text: true });
          const src = ctx.opts.image?.(dest.href) ?? null;
          if (ctx.text) out += alt;
          else if (src !== null && safeHref(src)) out += `<img src="${escapeHtml(src)}" alt="${escapeHtml(alt)}" loading="lazy">`;
          else out += escapeHtml(alt);
        } else {
          const inner = inline(label, { ...ctx, inLink: true });
          const href = ctx.opts.link ? ctx.opts.link(dest.href) : dest.href;
          out += ctx.text || href === null || !safeHref(href) ? inner : `<a href="${escapeHtml(href)}">${inner}</a>`;
        }
        continue;
      }
    }

    const auto = c === "<" ? /^<(https?:\/\/[^\s<>]+)>/.exec(rest) : null;
    const bare = !ctx.inLink && (c === "h" || c === "H") && (i === 0 || /[\s(]/.test(s[i - 1]!)) ? BARE_URL.exec(rest) : null;
    if (auto || bare) {
      const url = auto ? auto[1]! : bare![0];
      const href = ctx.opts.link ? ctx.opts.link(url) : url;
      if (ctx.text || href === null || !safeHref(href) || ctx.inLink) text(url);
      else out += `<a href="${escapeHtml(href)}">${escapeHtml(url)}</a>`;
      i += auto ? auto[0].length : url.length;
      continue;
    }

    if (c === "*" || c === "_") {
      const strong = s[i + 1] === c;
      const mark = strong ? c + c : c;
      const after = s[i + mark.length] ?? "";
      // `_` marks only at word edges, so snake_case stays as written.
      const edgeOk = c === "*" || i === 0 || !/[\p{L}\p{N}]/u.test(s[i - 1]!);
      if (after && !/\s/.test(after) && after !== c && edgeOk) {
        let end = i + mark.length;
        for (;;) {
          end = s.indexOf(mark, end + 1);
          if (end < 0) break;
          const before = s[end - 1]!;
          const next = s[end + mark.length] ?? "";
          const closeOk = c === "*" || !/[\p{L}\p{N}]/u.test(next);
          if (!/\s/.test(before) && before !== "\\" && closeOk && (strong || next !== c)) break;
        }
        if (end > 0) {
          const inner = inline(s.slice(i + mark.length, end), ctx);
          out += ctx.text ? inner : strong ? `<strong>${inner}</strong>` : `<em>${inner}</em>`;
          i = end + mark.length;
          continue;
        }
      }
      text(mark);
      i += mark.length;
      continue;
    }

    const plain = /^[^\\`[!<*_hH]+/.exec(rest);
    const run = plain ? plain[0] : c;
    text(run);
    i += run.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Heading ids, as GitHub makes them

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

const plainText = (s: string) => inline(s, { opts: {}, text: true, inLink: false });

function headingsOf(blocks: Block[]): string[] {
  return blocks.flatMap((b) => (b.t === "heading" ? [b.text] : b.t === "list" ? b.items.flatMap(headingsOf) : b.t === "quote" ? headingsOf(b.blocks) : []));
}

/** The id of every heading of a document, in order: the anchors a link may name. */
export function headingIds(md: string): string[] {
  const slug = slugger();
  return headingsOf(parse(md)).map((h) => slug(plainText(h)));
}

// ---------------------------------------------------------------------------------------------
// HTML

function render(blocks: Block[], ctx: Inline, slug: (h: string) => string, tight = false): string {
  return blocks
    .map((b): string => {
      switch (b.t) {
        case "heading":
          return `<h${b.depth} id="${escapeHtml(slug(plainText(b.text)))}">${inline(b.text, ctx)}</h${b.depth}>`;
        case "para":
          return tight ? inline(b.text, ctx) : `<p>${inline(b.text, ctx)}</p>`;
        case "code": {
          const lang = /^[\w+-]+$/.test(b.lang) ? ` class="language-${b.lang}"` : "";
          return `<pre><code${lang}>${escapeHtml(b.text)}</code></pre>`;
        }
        case "list": {
          const tag = b.ordered ? "ol" : "ul";
          const start = b.ordered && b.start !== 1 ? ` start="${b.start}"` : "";
          return `<${tag}${start}>${b.items.map((item) => `<li>${render(item, ctx, slug, b.tight)}</li>`).join("")}</${tag}>`;
        }
        case "table": {
          const style = (c: number) => (b.align[c] ? ` style="text-align:${b.align[c]}"` : "");
          const head = b.head.map((h, c) => `<th scope="col"${style(c)}>${inline(h, ctx)}</th>`).join("");
          const rows = b.rows.map((r) => `<tr>${r.map((d, c) => `<td${style(c)}>${inline(d, ctx)}</td>`).join("")}</tr>`).join("");
          return `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
        }
        case "quote":
          return `<blockquote>${render(b.blocks, ctx, slug)}</blockquote>`;
        case "hr":
          return "<hr>";
      }
    })
    .join("\n");
}

/** The document as HTML: escaped throughout, links and images passed through `opts`. */
export function renderMarkdown(md: string, opts: RenderOptions = {}): string {
  return render(parse(md), { opts, text: false, inLink: false }, slugger());
}
