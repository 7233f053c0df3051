// /docs: the guides' index, then the API reference, rendered from the same OpenAPI document that
// /api/v1/openapi.json serves.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Link, useLoaderData, useRouteLoaderData, type MetaFunction } from "@remix-run/react";
import type { loader as docsLayoutLoader } from "./docs.tsx";
import { REASON_VERDICT } from "../../core/verdict.ts";
import { Badge, TableScroll } from "../components/ui.tsx";

export const meta: MetaFunction = () => [{ title: "Docs and API reference · mxray" }];

interface Operation {
  method: string;
  path: string;
  tag: string;
  summary: string;
  description: string;
  params: { name: string; in: string; required: boolean; description: string }[];
  bodies: string[];
  responses: { status: string; description: string }[];
}

export async function loader({ context }: LoaderFunctionArgs) {
  const doc = context.openapi();
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item as Record<string, unknown>)) {
      if (!op || typeof op !== "object" || !("responses" in op)) continue;
      const o = op as { tags?: string[]; summary?: string; description?: string; parameters?: { name: string; in: string; required?: boolean; description?: string }[]; requestBody?: { content?: Record<string, unknown> }; responses: Record<string, { description?: string }> };
      operations.push({
        method: method.toUpperCase(),
        path,
        tag: o.tags?.[0] ?? "Other",
        summary: o.summary ?? "",
        description: o.description ?? "",
        params: (o.parameters ?? []).map((p) => ({ name: p.name, in: p.in, required: p.required ?? false, description: p.description ?? "" })),
        bodies: Object.keys(o.requestBody?.content ?? {}),
        responses: Object.entries(o.responses).map(([status, r]) => ({ status, description: r.description ?? "" })),
      });
    }
  }
  return { title: doc.info.title, description: doc.info.description ?? "", server: doc.servers?.[0]?.url ?? "", operations };
}

export default function Docs() {
  const { title, description, server, operations } = useLoaderData<typeof loader>();
  const sections = useRouteLoaderData<typeof docsLayoutLoader>("routes/docs")?.sections ?? [];
  const tags = [...new Set(operations.map((o) => o.tag))];
  return (
    <>
      <div className="page-head">
        <div>
          <h1>{title}</h1>
          <p>{description}</p>
        </div>
        <a className="btn" href="/api/v1/openapi.json">OpenAPI 3.1 (JSON)</a>
      </div>
      <section className="card" aria-labelledby="guides-title">
        <h2 id="guides-title">Guides</h2>
        <div className="grid">
          {sections.map((section) => (
            <div key={section.title}>
              <h3 style={{ margin: "0 0 .35rem", fontSize: "1rem" }}>{section.title}</h3>
              <ul style={{ margin: 0, paddingLeft: "1.1rem" }}>
                {section.guides.map((g) => (
                  <li key={g.slug}><Link to={`/docs/${g.slug}`}>{g.title}</Link> <span className="muted">{g.blurb}</span></li>
                ))}
              </ul>
            </div>
          ))}
        </div>
      </section>
      <section className="card">
        <h2>Quick start</h2>
        <p>Create a key on the <a href="/keys">API keys</a> page, then:</p>
        <pre>{`curl -s ${server}/api/v1/verify \\\n  -H "Authorization: Bearer $MXRAY_KEY" -H "content-type: application/json" \\\n  -d '{"email":"someone@example.com"}'`}</pre>
      </section>
      <nav className="card" aria-label="Operations">
        <h2>Operations</h2>
        <ul>
          {operations.map((o) => (
            <li key={`${o.method} ${o.path}`}><a href={`#${o.method}-${o.path}`}><code>{o.method} {o.path}</code></a> {o.summary}</li>
          ))}
        </ul>
      </nav>
      {tags.map((tag) => (
        <section className="card" key={tag} aria-labelledby={`tag-${tag}`}>
          <h2 id={`tag-${tag}`}>{tag}</h2>
          {operations.filter((o) => o.tag === tag).map((o) => (
            <article className="op" key={`${o.method} ${o.path}`} id={`${o.method}-${o.path}`}>
              <h3 style={{ margin: "0 0 .35rem", fontSize: "1rem" }}><span className="method">{o.method}</span><code>{o.path}</code></h3>
              <p style={{ margin: "0 0 .35rem" }}><strong>{o.summary}</strong></p>
              {o.description && <p className="muted" style={{ marginTop: 0 }}>{o.description}</p>}
              {o.params.length > 0 && (
                <TableScroll label={`Parameters of ${o.method} ${o.path}`}>
                  <table aria-label={`Parameters of ${o.method} ${o.path}`}>
                    <thead><tr><th scope="col">Parameter</th><th scope="col">In</th><th scope="col">Description</th></tr></thead>
                    <tbody>{o.params.map((p) => <tr key={`${p.in}-${p.name}`}><td><code>{p.name}</code>{p.required ? " *" : ""}</td><td>{p.in}</td><td>{p.description}</td></tr>)}</tbody>
                  </table>
                </TableScroll>
              )}
              {o.bodies.length > 0 && <p>Body: {o.bodies.map((b) => <code key={b} style={{ marginRight: ".4rem" }}>{b}</code>)}</p>}
              <ul>{o.responses.map((r) => <li key={r.status}><code>{r.status}</code> {r.description}</li>)}</ul>
            </article>
          ))}
        </section>
      ))}
      <section className="card" aria-labelledby="reasons-title">
        <h2 id="reasons-title">Verdicts and reasons</h2>
        <TableScroll label="Verdicts and reasons">
          <table aria-label="Verdicts and reasons">
            <thead><tr><th scope="col">Reason</th><th scope="col">Verdict</th></tr></thead>
            <tbody>{Object.entries(REASON_VERDICT).map(([reason, verdict]) => <tr key={reason}><td><code>{reason}</code></td><td><Badge value={verdict} /></td></tr>)}</tbody>
          </table>
        </TableScroll>
      </section>
    </>
  );
}
