// The Worker's database client: @libsql/client/web (fetch only, no Node APIs) to Turso in
// production or the local sqld. One per request, built by the services middleware.
//
// Every call goes through `instrumentClient`, the one place that counts rows written and round
// trips for the cost meter (from the database's own answers), queues requests in the Worker at
// the fair gate (edge/gate.ts), waits out SQLITE_BUSY, and turns "the database cannot be reached
// or is overloaded" into ServiceError("unavailable"), which the API answers with 503 and
// Retry-After instead of 500; other database errors keep their driver code.
import { createClient, LibsqlError, type Client, type ResultSet } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import * as schema from "../db/schema.ts";
import { realClock, type Clock } from "./clock.ts";
import { ServiceError } from "./errors.ts";
import { Gate } from "./gate.ts";
import { meter } from "./meter.ts";

/** How long a caller should wait before trying again after the database failed to answer. */
export const DATABASE_RETRY_AFTER_S = 5;

/** Driver codes that mean "not reached, or too busy to answer": nothing was applied. */
const UNAVAILABLE_CODES = new Set(["SERVER_ERROR", "HRANA_CLOSED_ERROR", "HRANA_WEBSOCKET_ERROR", "SQLITE_BUSY", "SQLITE_LOCKED"]);

/**
 * sqld answers SQLITE_BUSY at once when another connection holds the write lock (it has no busy
 * timeout of its own), so the client waits its turn: a busy statement or batch applied nothing
 * (a batch is BEGIN IMMEDIATE … COMMIT; it fails at BEGIN), and is sent again after a short,
 * jittered, growing pause, for up to BUSY_BUDGET_MS. Only then is it "unavailable".
 */
export const BUSY_BUDGET_MS = 3_000;
const BUSY_FIRST_PAUSE_MS = 2;
const BUSY_MAX_PAUSE_MS = 100;

/**
 * Requests to the database in flight at once from this isolate, and writes among them (one: the
 * database runs one writer at a time anyway). The rest wait here, in the Worker, not in the
 * database: sqld serves each request on one of its 128 blocking threads, and with many writers
 * queued inside it a committing writer's checkpoint deadlocks against them (seen at 1M rows:
 * every thread parked, "Timed out while opening database connection").
 */
export const MAX_DB_REQUESTS_IN_FLIGHT = 16;
const requests = new Gate(MAX_DB_REQUESTS_IN_FLIGHT, realClock, BUSY_BUDGET_MS);
const writes = new Gate(1, realClock, BUSY_BUDGET_MS);

/** A request's turn: a slot among the requests, and for a write the one writer's place first. */
async function takeTurn<T>(write: boolean, lane: string, call: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
  // Each gate's wait is judged by its own queue: a write that got the writer's turn waits anew.
  const asRequest = () => requests.run(call, realClock.now() + BUSY_BUDGET_MS, lane);
  if (!write) return asRequest();
  const outer = await writes.run(asRequest, realClock.now() + BUSY_BUDGET_MS, lane);
  return outer.ran ? outer.value : outer;
}

const READ_ONLY = /^\s*(select|pragma|explain)\b/i;
/** A statement or batch that may write (a batch is a transaction unless it says "read"). */
const mayWrite = (prop: "execute" | "batch" | "migrate", args: unknown[]): boolean => {
  if (prop === "migrate") return true;
  if (prop === "batch") return args[1] !== "read";
  const stmt = args[0];
  const sql = typeof stmt === "string" ? stmt : (stmt as { sql: string }).sql;
  return !READ_ONLY.test(sql);
};

const isBusy = (err: unknown) => err instanceof LibsqlError && (err.code === "SQLITE_BUSY" || err.code === "SQLITE_LOCKED");

export function isUnavailable(err: unknown): boolean {
  if (err instanceof LibsqlError) return UNAVAILABLE_CODES.has(err.code) || /timed out|connection/i.test(err.message);
  // fetch itself failed (sqld down, connection reset): workerd says "Network connection lost",
  // Node "fetch failed"; neither reached the database.
  // A request abandoned at DB_REQUEST_TIMEOUT_MS is a TimeoutError.
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return true;
  return err instanceof TypeError || (err instanceof Error && /network connection lost|fetch failed|ECONNREFUSED|ECONNRESET/i.test(err.message));
}

function unavailable(err: unknown): never {
  throw new ServiceError("unavailable", "The database is not answering; nothing was changed. Try again shortly.", DATABASE_RETRY_AFTER_S, { cause: err });
}

const written = (results: ResultSet[]) => results.reduce((n, r) => n + r.rowsAffected, 0);

let clients = 0;

/** `lane` names whose turn a call takes at the gates (see Gate); by default each client is its own. */
export function instrumentClient(client: Client, clock: Clock = realClock, lane?: () => string): Client {
  const own = `client:${clients++}`;
  const laneOf = lane ?? (() => own);
  const wrap = async <T extends ResultSet | ResultSet[]>(call: () => Promise<T>, write: boolean): Promise<T> => {
    const deadline = clock.now() + BUSY_BUDGET_MS;
    for (let pause = BUSY_FIRST_PAUSE_MS; ; pause = Math.min(BUSY_MAX_PAUSE_MS, pause * 2)) {
      try {
        const got = await takeTurn(write, laneOf(), () => {
          meter.dbRoundTrips++;
          return call();
        });
        // Waiting for a turn shares the busy budget: a queue that does not move is "unavailable" too.
        if (!got.ran) unavailable(new Error(`no turn at the database: its queue did not move for ${BUSY_BUDGET_MS} ms`));
        meter.dbRowsWritten += written(Array.isArray(got.value) ? got.value : [got.value]);
        return got.value;
      } catch (err) {
        if (err instanceof ServiceError) throw err;
        if (isBusy(err) && clock.now() < deadline) {
          meter.dbBusyRetries++;
          await clock.sleep(pause / 2 + Math.random() * pause);
          continue;
        }
        if (isUnavailable(err)) unavailable(err);
        throw err;
      }
    }
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "execute") return (...args: Parameters<Client["execute"]>) => wrap(() => (target.execute as (...a: unknown[]) => Promise<ResultSet>)(...args), mayWrite(prop, args));
      if (prop === "batch") return (...args: Parameters<Client["batch"]>) => wrap(() => target.batch(...args), mayWrite(prop, args));
      if (prop === "migrate") return (...args: Parameters<Client["migrate"]>) => wrap(() => target.migrate(...args), true);
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A request the database has not answered by then is abandoned: it must not hold a turn for ever. */
export const DB_REQUEST_TIMEOUT_MS = 20_000;
const timedFetch = (input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, signal: AbortSignal.timeout(DB_REQUEST_TIMEOUT_MS) });

export function createEdgeDb(env: { TURSO_DATABASE_URL: string; TURSO_AUTH_TOKEN?: string | undefined }, lane?: () => string) {
  const client = createClient({
    url: env.TURSO_DATABASE_URL,
    fetch: timedFetch,
    ...(env.TURSO_AUTH_TOKEN ? { authToken: env.TURSO_AUTH_TOKEN } : {}),
  });
  return drizzle(instrumentClient(client, realClock, lane), { schema });
}
export type EdgeDb = ReturnType<typeof createEdgeDb>;
