// The API's description: /api/v1/openapi.json, and a readable reference page rendered here from
// the same document (no scripts or assets from elsewhere, so it works offline too).
import type { OpenAPIHono } from "@hono/zod-openapi";
import { escapeHtml, renderInline, renderMarkdown } from "../../core/markdown.ts";
import { PEER_STATUS, REASON_VERDICT } from "../../core/verdict.ts";
import type { AppEnv } from "./app.ts";

/** Every tag an operation uses, described (generators and the reference group operations by them). */
const API_TAGS = [
  { name: "Verify", description: "One address, checked now." },
  { name: "Find", description: "A person's address from their name and company, verified now." },
  { name: "Jobs", description: "Bulk lists: upload, follow live, export, cancel." },
  { name: "Account", description: "The key's account, its credits and their ledger." },
  { name: "Webhooks", description: "Endpoints that receive signed events (Standard Webhooks), their delivery log and replays." },
  { name: "Zapier", description: "REST hooks as Zapier subscribes them, and sample objects for its editor." },
  { name: "Decision makers", description: "A domain's founders and heads from a people-data provider, with their addresses found." },
  { name: "Suppressions", description: "Addresses no campaign of the account sends to: unsubscribes, bounces, complaints and your own; import and export CSV." },
  { name: "Relays", description: "The account's own SMTP relays that campaigns send through; passwords are stored encrypted and never returned." },
  { name: "Bounce mailboxes", description: "The account's own IMAP mailboxes where its bounces arrive, read by a probe that never deletes and touches only what is ours; passwords are stored encrypted and never returned." },
  { name: "Senders", description: "From addresses, confirmed by a signed link, with their relays and a check of their domain against the bulk-sender rules." },
  { name: "Templates", description: "Messages in Liquid, with the list's columns as variables, checked and previewed." },
  { name: "Campaigns", description: "Send to a verified list through the account's own relays, consent first: start, pause, resume, cancel, and each recipient's outcome." },
];

type Doc = ReturnType<OpenAPIHono<AppEnv>["getOpenAPI31Document"]>;

export function openApiDocument(api: OpenAPIHono<AppEnv>, origin: string): Doc {
  api.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API key: `Authorization: Bearer mx_live_…` (or `mx_test_…`)",
  });
  api.openAPIRegistry.registerComponent("securitySchemes", "publishableKey", {
    type: "apiKey",
    in: "query",
    name: "key",
    description: "A publishable key (`mx_pk_…`) for web pages: POST /api/v1/verify only, from the key's origins (CORS)",
  });
  const doc = api.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "mxray API",
      version: "1",
      description:
        "Email verification with the SMTP evidence. Every error is `{ \"error\": { \"code\", \"message\", \"requestId\" } }`. " +
        "Requests are rate limited per key and per account across its keys (RateLimit-* headers of the nearer limit; 429 " +
        "`rate_limited` with Retry-After). A key works only while the person who made it is an owner or admin of its account " +
        "(`key_revoked` otherwise); an account holds at most 25 unrevoked keys.",
    },
    servers: [{ url: origin }],
    tags: API_TAGS,
  });
  // The repository has no open-source licence (package.json is private); an SPDX reference says
  // so, as Redocly's info-license-strict asks where there is no licence URL. Set here because the
  // generator's config only types OpenAPI 3.0's licence, which has no `identifier`.
  doc.info.license = { name: "Proprietary", identifier: "LicenseRef-Proprietary" };
  return doc;
}

const esc = (s: unknown) => escapeHtml(String(s ?? ""));
/** A description from the OpenAPI document, as Markdown (code spans, links, lists); its raw HTML is text. */
const md = (s: unknown) => renderMarkdown(String(s ?? "")).html;

interface Operation {
  id: string;
  method: string;
  path: string;
  summary: string;
  description: string;
  params: { name: string; in: string; description?: string; required?: boolean }[];
  bodies: string[];
  responses: [status: string, { description?: string }][];
}

/** The document's operations by tag, in the order of API_TAGS (then any other tag, then untagged). */
function operationsByTag(doc: Doc): { tag: string; description: string; operations: Operation[] }[] {
  const groups = new Map<string, Operation[]>(API_TAGS.map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item as Record<string, any>)) {
      if (!op || typeof op !== "object" || !("responses" in op)) continue;
      const tag = (op.tags?.[0] as string | undefined) ?? "Other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag)!.push({
        id: `${method.toUpperCase()}-${path}`,
        method: method.toUpperCase(),
        path,
        summary: op.summary ?? "",
        description: op.description ?? "",
        params: op.parameters ?? [],
        bodies: Object.keys(op.requestBody?.content ?? {}),
        responses: Object.entries(op.responses ?? {}),
      });
    }
  }
  return [...groups]
    .filter(([, operations]) => operations.length > 0)
    .map(([tag, operations]) => ({ tag, description: API_TAGS.find((t) => t.name === tag)?.description ?? "", operations }));
}

const tagId = (tag: string) => `tag-${tag.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;

/**
 * The reference as two pieces of HTML: `nav`, a side menu of every operation by tag, and `body`,
 * each operation (anchored at `METHOD-/path`) with its description rendered as Markdown. The
 * standalone page below and the web app's /docs/reference both show these.
 */
export function referenceHtml(doc: Doc): { nav: string; body: string } {
  const groups = operationsByTag(doc);
  const nav = groups
    .map((g) => `<h2><a href="#${esc(tagId(g.tag))}">${esc(g.tag)}</a></h2><ul>${g.operations.map((o) => `<li><a href="#${esc(o.id)}"><span class="method">${esc(o.method)}</span> <code>${esc(o.path)}</code></a></li>`).join("")}</ul>`)
    .join("\n");
  const ops = groups.map(
    (g) => `<section class="ref-tag" aria-labelledby="${esc(tagId(g.tag))}"><h2 id="${esc(tagId(g.tag))}">${esc(g.tag)} <a class="anchor" href="#${esc(tagId(g.tag))}" aria-label="Link to ${esc(g.tag)}">#</a></h2>${g.description ? md(g.description) : ""}
${g.operations
  .map(
    (o) => `<article class="op" id="${esc(o.id)}"><h3><span class="method">${esc(o.method)}</span> <code>${esc(o.path)}</code> <a class="anchor" href="#${esc(o.id)}" aria-label="Link to ${esc(o.method)} ${esc(o.path)}">#</a></h3>
<p><strong>${renderInline(o.summary)}</strong></p>${o.description ? `<div class="op-description">${md(o.description)}</div>` : ""}
${o.params.length ? `<div class="table-wrap"><table aria-label="Parameters of ${esc(o.method)} ${esc(o.path)}"><thead><tr><th scope="col">Parameter</th><th scope="col">In</th><th scope="col">Description</th></tr></thead><tbody>${o.params.map((p) => `<tr><td><code>${esc(p.name)}</code>${p.required ? " (required)" : ""}</td><td>${esc(p.in)}</td><td>${md(p.description)}</td></tr>`).join("")}</tbody></table></div>` : ""}
${o.bodies.length ? `<p>Body: ${o.bodies.map((t) => `<code>${esc(t)}</code>`).join(", ")}</p>` : ""}
<p>Responses:</p><ul>${o.responses.map(([code, r]) => `<li><code>${esc(code)}</code> ${renderInline(String(r.description ?? ""))}</li>`).join("")}</ul></article>`,
  )
  .join("\n")}</section>`,
  );
  const reasons = Object.entries(REASON_VERDICT)
    .map(([reason, verdict]) => `<tr><td><code>${esc(reason)}</code></td><td>${esc(verdict)}</td></tr>`)
    .join("");
  const peers = Object.entries(PEER_STATUS)
    .map(([v, p]) => `<tr><td>${esc(v)}</td><td>${esc(p.zerobounce)}</td><td>${esc(p.kickbox)}</td><td>${esc(p.reacher)}</td></tr>`)
    .join("");
  const body = `${ops.join("\n")}
<section class="ref-tag" aria-labelledby="verdicts"><h2 id="verdicts">Verdicts and reasons <a class="anchor" href="#verdicts" aria-label="Link to Verdicts and reasons">#</a></h2><div class="table-wrap"><table><thead><tr><th scope="col">Reason</th><th scope="col">Verdict</th></tr></thead><tbody>${reasons}</tbody></table></div>
<h3 id="peers">The same verdicts in other services' words</h3><div class="table-wrap"><table><thead><tr><th scope="col">mxray</th><th scope="col">ZeroBounce</th><th scope="col">Kickbox</th><th scope="col">Reacher</th></tr></thead><tbody>${peers}</tbody></table></div></section>`;
  return { nav: `${nav}\n<h2><a href="#verdicts">Verdicts and reasons</a></h2>`, body };
}

/**
 * The page's own stylesheet: Hono serves it, not Remix, so it cannot link the app's hashed
 * stylesheet; these are the app's tokens (app/styles.css) for the same look, inline so the page
 * works offline and in one request.
 */
const REFERENCE_CSS = `:root{--bg:#f6f7f9;--panel:#fff;--ink:#14171c;--muted:#5b6472;--line:#e2e5ea;--accent:#3b5bdb;color-scheme:light}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--accent)}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}
:not(pre)>code{background:#f1f3f5;padding:.1rem .3rem;border-radius:4px;overflow-wrap:anywhere}
pre{background:#0f1419;color:#e6e9ee;padding:.75rem 1rem;border-radius:8px;overflow-x:auto}
header{background:var(--panel);border-bottom:1px solid var(--line);padding:.6rem 1rem}header a{font-weight:700;color:var(--ink);text-decoration:none}
.layout{max-width:76rem;margin:0 auto;padding:1.5rem 1rem 3rem;display:grid;gap:1rem;grid-template-columns:minmax(0,1fr)}
@media (min-width:60rem){.layout{grid-template-columns:17rem minmax(0,1fr);align-items:start}.ref-nav{position:sticky;top:1rem;max-height:calc(100vh - 2rem);overflow-y:auto}}
.card,.ref-tag{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:1.1rem 1.2rem;margin-bottom:1rem}
.ref-nav h2{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;margin:1rem 0 .3rem}.ref-nav h2 a{color:var(--muted);text-decoration:none}
.ref-nav ul{list-style:none;margin:0;padding:0}.ref-nav li a{display:block;padding:.15rem 0;text-decoration:none;font-size:.88rem;overflow-wrap:anywhere}
h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.2rem}.op{border-top:1px solid var(--line);padding-top:.75rem;margin-top:1rem}
.op h3{font-size:1rem;margin:0 0 .35rem;overflow-wrap:anywhere}.method{display:inline-block;font:600 .75rem/1.6 ui-monospace,monospace;background:#edf2ff;color:var(--accent);border-radius:4px;padding:0 .35rem}
.anchor{color:var(--muted);text-decoration:none;font-weight:400;visibility:hidden}h2:hover .anchor,h3:hover .anchor,.anchor:focus{visibility:visible}
.table-wrap{overflow-x:auto}table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}td p{margin:0}.muted{color:var(--muted)}`;

export function referencePage(doc: Doc): string {
  const { nav, body } = referenceHtml(doc);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mxray API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style>${REFERENCE_CSS}</style></head><body>
<header><a href="/">mx<span style="color:var(--accent)">ray</span></a> · <a href="/docs" style="font-weight:400">Guides</a></header>
<div class="layout"><nav class="card ref-nav" aria-label="Operations">${nav}</nav>
<main><div class="card"><h1>mxray API reference</h1>${md(doc.info.description)}
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</p></div>
${body}</main></div>
</body></html>`;
}

export function registerDocs(app: OpenAPIHono<AppEnv>, api: OpenAPIHono<AppEnv>): void {
  app.get("/api/v1/openapi.json", (c) => c.json(openApiDocument(api, c.var.services.origin)));
  app.get("/api/v1/docs", (c) => c.html(referencePage(openApiDocument(api, c.var.services.origin))));
  // Browsers ask for /favicon.ico whatever the page says; the icon is public/favicon.svg.
  app.get("/favicon.ico", (c) => c.redirect("/favicon.svg", 301));
}
