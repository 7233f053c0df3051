// What the Worker (edge/entry.ts) puts in every loader's and action's load context. Loaders call
// the edge's services with it; no SQL in app/.
import type { openApiDocument } from "../edge/api/docs.ts";
import type { Services } from "../edge/context.ts";

declare module "@remix-run/server-runtime" {
  interface AppLoadContext {
    cloudflare: { env: Env; ctx: { waitUntil(p: Promise<unknown>): void } };
    services: Services;
    /** The API's OpenAPI 3.1 document, as /api/v1/openapi.json serves it. */
    openapi: () => ReturnType<typeof openApiDocument>;
  }
}
