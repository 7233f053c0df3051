// The Worker's entry: Hono for the API and callbacks, the JobHub Durable Object, scheduled work.
// (Skeleton: the API, Remix and the services arrive with issue 3.)
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";

const app = new Hono<{ Bindings: Env }>();
app.get("/healthz", (c) => c.json({ ok: true, service: "mxray-edge" }));

/** One per job: accepts WebSockets and fans progress out to them (issue 3 fills it in). */
export class JobHub extends DurableObject<Env> {
  override async fetch(): Promise<Response> {
    return new Response("not yet", { status: 501 });
  }
}

export default {
  fetch: app.fetch,
  async scheduled() {},
} satisfies ExportedHandler<Env>;
