// The database client for Node (tests, scripts, `npm start`). The Worker builds its own with
// `@libsql/client/web` (no Node APIs); both speak to Turso or a local sqld over HTTP.
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import * as schema from "./schema.ts";

export function createDb(opts: { url: string; authToken?: string }) {
  const client = createClient({ url: opts.url, ...(opts.authToken ? { authToken: opts.authToken } : {}) });
  return { db: drizzle(client, { schema }), client };
}
export type Db = ReturnType<typeof createDb>["db"];
