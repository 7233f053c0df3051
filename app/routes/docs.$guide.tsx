// /docs/:guide: one guide of docs/, rendered from its Markdown (app/docs/guides.server.ts); an
// unknown guide is a 404.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { useLoaderData, type MetaFunction } from "@remix-run/react";
import { guidePage } from "../docs/guides.server.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.title ?? "Guide"} · mxray docs` }];

export async function loader({ params }: LoaderFunctionArgs) {
  const page = guidePage(params.guide ?? "");
  if (!page) throw new Response("No such guide.", { status: 404 });
  return { title: page.title, html: page.html };
}

export default function Guide() {
  const { html } = useLoaderData<typeof loader>();
  // The renderer escapes every character of the source and writes only its own tags.
  return <article className="card guide" dangerouslySetInnerHTML={{ __html: html }} />;
}
