// /docs: the guides, one line each, and the API reference; with ?q= the search's answers (every
// guide's headings and text, app/docs/guides.server.ts).
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Link, useLoaderData, type MetaFunction } from "@remix-run/react";
import { guideIndex, searchGuides } from "../docs/guides.server.ts";

export const meta: MetaFunction = () => [{ title: "Docs · mxray" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const q = (new URL(request.url).searchParams.get("q") ?? "").trim().slice(0, 200);
  return { q, hits: q ? searchGuides(q) : [], sections: guideIndex() };
}

export default function DocsIndex() {
  const { q, hits, sections } = useLoaderData<typeof loader>();
  if (q) {
    return (
      <section className="card" aria-labelledby="search-title">
        <h1 id="search-title">Search: {q}</h1>
        <p className="muted" role="status">{hits.length === 0 ? "Nothing in the guides matches every word." : `${hits.length}${hits.length === 30 ? " or more" : ""} sections match.`}</p>
        <ol className="docs-hits">
          {hits.map((h) => (
            <li key={h.href}>
              <Link to={h.href}>{h.section ? `${h.guide} › ${h.section}` : h.guide}</Link>
              <p className="muted">{h.excerpt}</p>
            </li>
          ))}
        </ol>
      </section>
    );
  }
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Docs</h1>
          <p>The guides, and the API reference rendered from the OpenAPI document.</p>
        </div>
        <Link className="btn" to="/docs/reference">API reference</Link>
      </div>
      {sections.map((section) => (
        <section className="card" key={section.title} aria-label={section.title}>
          <h2>{section.title}</h2>
          <dl className="docs-list">
            {section.guides.map((g) => (
              <div key={g.slug}>
                <dt><Link to={`/docs/${g.slug}`}>{g.title}</Link></dt>
                <dd className="muted">{g.blurb}</dd>
              </div>
            ))}
          </dl>
        </section>
      ))}
    </>
  );
}
