// /docs: the guides of docs/ beside the API reference (issue 22), so people read them where they
// work. This layout holds the guide index as a side navigation; the pages are docs._index.tsx
// (the API reference) and docs.$guide.tsx (one guide).
import { NavLink, Outlet, useLoaderData } from "@remix-run/react";
import { guideIndex } from "../docs/guides.server.ts";

export async function loader() {
  return { sections: guideIndex() };
}

export default function DocsLayout() {
  const { sections } = useLoaderData<typeof loader>();
  return (
    <div className="docs">
      <nav className="card docs-nav" aria-label="Guides">
        <NavLink to="/docs" end>API reference</NavLink>
        {sections.map((section) => (
          <section key={section.title} aria-label={section.title}>
            <h2>{section.title}</h2>
            <ul>
              {section.guides.map((g) => (
                <li key={g.slug}><NavLink to={`/docs/${g.slug}`}>{g.title}</NavLink></li>
              ))}
            </ul>
          </section>
        ))}
      </nav>
      <div className="docs-page">
        <Outlet />
      </div>
    </div>
  );
}
