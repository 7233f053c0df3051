// The Worker's database client: @libsql/client/web (fetch only, no Node APIs) to Turso in
// production or the local sqld. One per request, built by the services middleware.
//
// Every call goes through `instrumentClient`, the one place that (a) counts the rows each
// statement wrote for the cost meter, from the database's own answer, and (b) turns "the
// database cannot be reached or is overloaded" into ServiceError("unavailable"), which the API
// answers with 503 and Retry-After instead of 500; other database errors keep their driver code.
import { createClient, LibsqlError, type Client, type ResultSet } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import * as schema from "../db/schema.ts";
import { ServiceError } from "./errors.ts";
import { meter } from "./meter.ts";

/** How long a caller should wait before trying again after the database failed to answer. */
export const DATABASE_RETRY_AFTER_S = 5;

/** Driver codes that mean "not reached, or too busy to answer": nothing was applied. */
const UNAVAILABLE_CODES = new Set(["SERVER_ERROR", "HRANA_CLOSED_ERROR", "HRANA_WEBSOCKET_ERROR", "SQLITE_BUSY", "SQLITE_LOCKED"]);

export function isUnavailable(err: unknown): boolean {
  if (err instanceof LibsqlError) return UNAVAILABLE_CODES.has(err.code) || /timed out|connection/i.test(err.message);
  // fetch itself failed (sqld down, connection reset): workerd says "Network connection lost",
  // Node "fetch failed"; neither reached the database.
  return err instanceof TypeError || (err instanceof Error && /network connection lost|fetch failed|ECONNREFUSED|ECONNRESET/i.test(err.message));
}

function unavailable(err: unknown): never {
  throw new ServiceError("unavailable", "The database is not answering; nothing was changed. Try again shortly.", DATABASE_RETRY_AFTER_S, { cause: err });
}

const written = (results: ResultSet[]) => results.reduce((n, r) => n + r.rowsAffected, 0);

export function instrumentClient(client: Client): Client {
  const wrap = async <T extends ResultSet | ResultSet[]>(call: () => Promise<T>): Promise<T> => {
    let out: T;
    meter.dbRoundTrips++;
    try {
      out = await call();
    } catch (err) {
      if (isUnavailable(err)) unavailable(err);
      throw err;
    }
    meter.dbRowsWritten += written(Array.isArray(out) ? out : [out]);
    return out;
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "execute") return (...args: Parameters<Client["execute"]>) => wrap(() => (target.execute as (...a: unknown[]) => Promise<ResultSet>)(...args));
      if (prop === "batch") return (...args: Parameters<Client["batch"]>) => wrap(() => target.batch(...args));
      if (prop === "migrate") return (...args: Parameters<Client["migrate"]>) => wrap(() => target.migrate(...args));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export function createEdgeDb(env: { TURSO_DATABASE_URL: string; TURSO_AUTH_TOKEN?: string | undefined }) {
  const client = createClient({
    url: env.TURSO_DATABASE_URL,
    ...(env.TURSO_AUTH_TOKEN ? { authToken: env.TURSO_AUTH_TOKEN } : {}),
  });
  return drizzle(instrumentClient(client), { schema });
}
export type EdgeDb = ReturnType<typeof createEdgeDb>;
