// Campaign templates (issue 23): Liquid (liquidjs), a language that runs no code, with the list's
// columns as variables (`{{ first_name | default: "there" }}`). The edge checks and previews
// with this module and the probe renders each message with it, so what the customer previewed
// is what is sent. Every message has a way out: a template without `{{ unsubscribe_url }}` gets
// a footer holding it. Pure: no I/O (includes and layouts are refused, not read from a disk).
import { Liquid, type Template } from "liquidjs";

export interface TemplateSource {
  subject: string;
  html: string;
  /** null: made from the HTML. */
  text: string | null;
}

export interface RenderedMessage {
  subject: string;
  html: string;
  text: string;
}

export type TemplateField = "subject" | "html" | "text";

/** A template that does not parse or render, with where: the API answers it as a 400. */
export class TemplateError extends Error {
  constructor(
    readonly field: TemplateField,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${field} line ${line}, column ${column}: ${detail}`);
    this.name = "TemplateError";
  }
}

export type TemplateCheck = { ok: true; variables: string[] } | { ok: false; error: TemplateError };

/** Limits a template is held to; a line of a header is at most 998 octets (RFC 5322 §2.1.1). */
export const MAX_SUBJECT = 998;
export const MAX_HTML = 512 * 1024;
export const MAX_TEXT = 256 * 1024;

export const UNSUBSCRIBE_VARIABLE = "unsubscribe_url";

// Bounded work, whatever a template says: parse and render time and memory are capped
// (liquidjs's DoS limits), and `templates: {}` replaces the file system, so `{% include %}`
// and `{% layout %}` find nothing instead of reading files.
const options = { templates: {}, strictFilters: true, ownPropertyOnly: true, parseLimit: 1e6, renderLimit: 2_000, memoryLimit: 64e6 } as const;
/** HTML: every variable's value is escaped (a list's cell may hold `<script>`). */
const htmlEngine = new Liquid({ ...options, outputEscape: "escape" });
const plainEngine = new Liquid(options);

const HTML_FOOTER = `<p style="font-size:12px;color:#666">Don't want these emails? <a href="{{ unsubscribe_url }}">Unsubscribe</a>.</p>`;
const TEXT_FOOTER = "\n\n--\nUnsubscribe: {{ unsubscribe_url }}\n";

function asTemplateError(field: TemplateField, e: unknown): TemplateError {
  if (e instanceof TemplateError) return e;
  const err = e as { message?: string; token?: { getPosition?: () => [number, number] } };
  const [line, column] = err.token?.getPosition?.() ?? [1, 1];
  // liquidjs ends its messages with ", line:2, col:3": said once, in our words.
  const detail = String(err.message ?? e).replace(/, line:\d+, col:\d+$/, "");
  return new TemplateError(field, line, column, detail);
}

interface Parsed {
  subject: Template[];
  html: Template[];
  text: Template[];
}

/** A template parsed once, to render many messages (a probe renders a whole batch from one). */
export interface PreparedTemplate {
  readonly parsed: Parsed;
  /** The variables the template reads (e.g. first_name), unsubscribe_url included. */
  readonly variables: string[];
}

function parseField(engine: Liquid, field: TemplateField, source: string): Template[] {
  try {
    return engine.parse(source);
  } catch (e) {
    throw asTemplateError(field, e);
  }
}

/** Parses the template, adding the unsubscribe footer where it is missing; throws TemplateError. */
export function prepareTemplate(t: TemplateSource): PreparedTemplate {
  if (t.subject.length > MAX_SUBJECT) throw new TemplateError("subject", 1, 1, `longer than ${MAX_SUBJECT} characters`);
  if (/[\r\n]/.test(t.subject)) throw new TemplateError("subject", 1, 1, "a subject is one line");
  if (t.html.length > MAX_HTML) throw new TemplateError("html", 1, 1, `longer than ${MAX_HTML} characters`);
  if (t.text !== null && t.text.length > MAX_TEXT) throw new TemplateError("text", 1, 1, `longer than ${MAX_TEXT} characters`);
  const subject = parseField(plainEngine, "subject", t.subject);
  let html = parseField(htmlEngine, "html", t.html);
  // Analysing follows includes: one that names a file fails here, before anything is sent.
  const reads = (engine: Liquid, tpl: Template[], field: TemplateField = "html") => {
    try {
      return engine.globalVariablesSync(tpl).map(String);
    } catch (e) {
      throw asTemplateError(field, e);
    }
  };
  if (!reads(htmlEngine, html).includes(UNSUBSCRIBE_VARIABLE)) html = parseField(htmlEngine, "html", withFooter(t.html));
  let text: Template[];
  if (t.text === null) {
    text = [];
  } else {
    text = parseField(plainEngine, "text", t.text);
    if (!reads(plainEngine, text, "text").includes(UNSUBSCRIBE_VARIABLE)) text = parseField(plainEngine, "text", t.text + TEXT_FOOTER);
  }
  const variables = [...new Set([...reads(plainEngine, subject, "subject"), ...reads(htmlEngine, html), ...reads(plainEngine, text, "text")])].sort();
  return { parsed: { subject, html, text }, variables };
}

/** The HTML with the unsubscribe footer before `</body>`, or at its end. */
function withFooter(html: string): string {
  const close = html.search(/<\/body\s*>/i);
  return close < 0 ? `${html}\n${HTML_FOOTER}` : `${html.slice(0, close)}${HTML_FOOTER}\n${html.slice(close)}`;
}

/** Whether the template parses, and the variables it reads. */
export function checkTemplate(t: TemplateSource): TemplateCheck {
  try {
    return { ok: true, variables: prepareTemplate(t).variables };
  } catch (e) {
    return { ok: false, error: asTemplateError("html", e) };
  }
}

/** One recipient's message. Throws TemplateError when rendering fails (e.g. a render limit). */
export function renderPrepared(p: PreparedTemplate, vars: Readonly<Record<string, string>>, unsubscribeUrl: string): RenderedMessage {
  const scope = { ...vars, [UNSUBSCRIBE_VARIABLE]: unsubscribeUrl };
  const render = (engine: Liquid, field: TemplateField, tpl: Template[]) => {
    try {
      return engine.renderSync(tpl, scope) as string;
    } catch (e) {
      throw asTemplateError(field, e);
    }
  };
  // A header is one line whatever a cell holds: no header injection through a variable.
  const subject = render(plainEngine, "subject", p.parsed.subject).replace(/[\r\n]+/g, " ").trim();
  const html = render(htmlEngine, "html", p.parsed.html);
  const text = p.parsed.text.length > 0 ? render(plainEngine, "text", p.parsed.text) : htmlToText(html);
  return { subject, html, text };
}

export function renderMessage(t: TemplateSource, vars: Readonly<Record<string, string>>, unsubscribeUrl: string): RenderedMessage {
  return renderPrepared(prepareTemplate(t), vars, unsubscribeUrl);
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/**
 * The plain-text part made from HTML: blocks become lines, links keep their URL ("text (url)"),
 * scripts, styles and comments go, entities are decoded. Enough for a readable alternative part.
 */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, "")
    .replace(/<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')[^>]*>([\s\S]*?)<\/a\s*>/gi, (_m, dq: string | undefined, sq: string | undefined, inner: string) => {
      const href = decodeEntities(dq ?? sq ?? "");
      const label = inner.replace(/<[^>]*>/g, "").trim();
      return label && decodeEntities(label) !== href ? `${label} (${href})` : href;
    })
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<li\b[^>]*>/gi, "\n- ")
    .replace(/<\/(p|div|h[1-6]|tr|table|ul|ol|blockquote|section|article|header|footer)\s*>/gi, "\n\n")
    .replace(/<[^>]*>/g, "");
  return decodeEntities(text)
    .replace(/[ \t\f\v]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
    .concat("\n");
}
