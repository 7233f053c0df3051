// The Worker's database client: @libsql/client/web (fetch only, no Node APIs) to Turso in
// production or the local sqld. One per request, built by the services middleware.
import { createClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import * as schema from "../db/schema.ts";

export function createEdgeDb(env: { TURSO_DATABASE_URL: string; TURSO_AUTH_TOKEN?: string }) {
  const client = createClient({
    url: env.TURSO_DATABASE_URL,
    ...(env.TURSO_AUTH_TOKEN ? { authToken: env.TURSO_AUTH_TOKEN } : {}),
  });
  return drizzle(client, { schema });
}
export type EdgeDb = ReturnType<typeof createEdgeDb>;
