// /docs/reference: the API reference in the web app, rendered from the OpenAPI document that
// /api/v1/openapi.json serves (the same HTML as /api/v1/docs; descriptions are Markdown).
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { useLoaderData, type MetaFunction } from "@remix-run/react";
import { referenceHtml } from "../docs/reference.server.ts";

export const meta: MetaFunction = () => [{ title: "API reference · mxray docs" }];

export async function loader({ context }: LoaderFunctionArgs) {
  const doc = context.openapi();
  return { title: doc.info.title, ...referenceHtml(doc), server: doc.servers?.[0]?.url ?? "" };
}

export default function Reference() {
  const { title, nav, body, server } = useLoaderData<typeof loader>();
  return (
    <>
      <div className="page-head">
        <div>
          <h1>{title} reference</h1>
          <p>Every operation, grouped by what it works on.</p>
        </div>
        <a className="btn" href="/api/v1/openapi.json">OpenAPI 3.1 (JSON)</a>
      </div>
      <section className="card">
        <h2>Quick start</h2>
        <p>Create a key on the <a href="/keys">API keys</a> page, then:</p>
        <pre>{`curl -s ${server}/api/v1/verify \\\n  -H "Authorization: Bearer $MXRAY_KEY" -H "content-type: application/json" \\\n  -d '{"email":"someone@example.com"}'`}</pre>
      </section>
      <details className="card ref-nav" open>
        <summary>Operations</summary>
        {/* Rendered by edge/api/docs.ts: every string of the document escaped, descriptions through core/markdown.ts. */}
        <nav aria-label="Operations" dangerouslySetInnerHTML={{ __html: nav }} />
      </details>
      <div className="reference" dangerouslySetInnerHTML={{ __html: body }} />
    </>
  );
}
