// /docs: the guides of docs/ and the API reference (issues 22 and 26). This layout holds the side
// menu (every guide, the current one marked, and the current guide's sections) and a search box
// that works without JavaScript (GET /docs?q=, answered by docs._index.tsx). At phone width the
// menu folds into a disclosure above the page.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { NavLink, Outlet, useLoaderData } from "@remix-run/react";
import { guideIndex, guidePage } from "../docs/guides.server.ts";

export async function loader({ params, request }: LoaderFunctionArgs) {
  const current = params.guide ? guidePage(params.guide) : null;
  return {
    sections: guideIndex(),
    current: current && { slug: current.slug, title: current.title, sections: current.sections },
    q: new URL(request.url).searchParams.get("q") ?? "",
  };
}

function Menu() {
  const { sections, current } = useLoaderData<typeof loader>();
  return (
    <>
      <ul>
        <li><NavLink to="/docs" end>All guides</NavLink></li>
        <li><NavLink to="/docs/reference">API reference</NavLink></li>
      </ul>
      {sections.map((section) => (
        <section key={section.title} aria-label={section.title}>
          <h2>{section.title}</h2>
          <ul>
            {section.guides.map((g) => (
              <li key={g.slug}>
                <NavLink to={`/docs/${g.slug}`}>{g.title}</NavLink>
                {current?.slug === g.slug && current.sections.length > 0 && (
                  <ul className="docs-toc" aria-label={`Sections of ${g.title}`}>
                    {current.sections.map((s) => (
                      <li key={s.id} className={`depth-${s.depth}`}><a href={`#${s.id}`}>{s.text}</a></li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </>
  );
}

export default function DocsLayout() {
  const { current, q } = useLoaderData<typeof loader>();
  return (
    <div className="docs">
      <div className="docs-side">
        <form method="get" action="/docs" role="search" className="docs-search">
          <label htmlFor="docs-q" className="sr-only">Search the guides</label>
          <input type="search" id="docs-q" name="q" defaultValue={q} placeholder="Search the guides" />
          <button className="btn small" type="submit">Search</button>
        </form>
        {/* One menu per width, the other display:none (so out of the accessibility tree): a
            disclosure needs no script to fold on a phone, and the side menu stays open on a desk. */}
        <nav className="card docs-nav docs-nav-wide" aria-label="Guides"><Menu /></nav>
        <details className="card docs-nav docs-nav-narrow">
          <summary>{current ? `Guides · ${current.title}` : "Guides"}</summary>
          <nav aria-label="Guides"><Menu /></nav>
        </details>
      </div>
      <div className="docs-page">
        <Outlet />
      </div>
    </div>
  );
}
