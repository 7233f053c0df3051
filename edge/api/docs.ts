// The API's description: /api/v1/openapi.json, and a readable reference page rendered here from
// the same document (no scripts or assets from elsewhere, so it works offline too).
import type { OpenAPIHono } from "@hono/zod-openapi";
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

const esc = (s: unknown) => String(s ?? "").replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function referencePage(doc: Doc): string {
  const ops: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item as Record<string, any>)) {
      if (!op || typeof op !== "object" || !("responses" in op)) continue;
      const params = (op.parameters ?? []) as { name: string; in: string; description?: string; required?: boolean }[];
      const bodyTypes = Object.keys(op.requestBody?.content ?? {});
      const responses = Object.entries(op.responses ?? {}) as [string, { description?: string }][];
      ops.push(`<section><h3><code>${esc(method.toUpperCase())} ${esc(path)}</code></h3>
<p><strong>${esc(op.summary)}</strong></p>${op.description ? `<p>${esc(op.description)}</p>` : ""}
${params.length ? `<p>Parameters:</p><ul>${params.map((p) => `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ", required" : ""}) ${esc(p.description)}</li>`).join("")}</ul>` : ""}
${bodyTypes.length ? `<p>Body: ${bodyTypes.map((t) => `<code>${esc(t)}</code>`).join(", ")}</p>` : ""}
<p>Responses:</p><ul>${responses.map(([code, r]) => `<li><code>${esc(code)}</code> ${esc(r.description)}</li>`).join("")}</ul></section>`);
    }
  }
  const reasons = Object.entries(REASON_VERDICT)
    .map(([reason, verdict]) => `<tr><td><code>${esc(reason)}</code></td><td>${esc(verdict)}</td></tr>`)
    .join("");
  const peers = Object.entries(PEER_STATUS)
    .map(([v, p]) => `<tr><td>${esc(v)}</td><td>${esc(p.zerobounce)}</td><td>${esc(p.kickbox)}</td><td>${esc(p.reacher)}</td></tr>`)
    .join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mxray API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
section{border-top:1px solid #ddd;padding:.5rem 0}code{background:#f3f4f6;padding:0 .2rem}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}</style></head><body>
<h1>mxray API reference</h1><p>${esc(doc.info.description)}</p>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</p>
<h2>Operations</h2>${ops.join("\n")}
<h2>Verdicts and reasons</h2><table><tr><th>reason</th><th>verdict</th></tr>${reasons}</table>
<h2>The same verdicts in other services' words</h2><table><tr><th>mxray</th><th>ZeroBounce</th><th>Kickbox</th><th>Reacher</th></tr>${peers}</table>
</body></html>`;
}

export function registerDocs(app: OpenAPIHono<AppEnv>, api: OpenAPIHono<AppEnv>): void {
  app.get("/api/v1/openapi.json", (c) => c.json(openApiDocument(api, c.var.services.origin)));
  app.get("/api/v1/docs", (c) => c.html(referencePage(openApiDocument(api, c.var.services.origin))));
}
