// The Worker's client reaches a real sqld over HTTP from inside workerd.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accounts } from "../db/schema.ts";
import { createEdgeDb, DATABASE_RETRY_AFTER_S } from "./db.ts";
import { causeChain, findServiceError } from "./errors.ts";
import { meter, resetMeter } from "./meter.ts";

describe("edge database client", () => {
  it("writes and reads through @libsql/client/web", async () => {
    const db = createEdgeDb(env as unknown as { TURSO_DATABASE_URL: string });
    const id = `acc_${crypto.randomUUID().slice(0, 8)}`;
    await db.insert(accounts).values({ id, name: "Edge", kind: "personal" });
    const [row] = await db.select().from(accounts).where(eq(accounts.id, id));
    expect(row).toMatchObject({ id, name: "Edge", kind: "personal", creditBalance: 0 });
  });

  it("says the database is unavailable (a ServiceError drizzle carries as its cause) when nothing answers", async () => {
    const db = createEdgeDb({ TURSO_DATABASE_URL: "http://127.0.0.1:9" }); // the discard port: nothing listens
    const err = await db.select().from(accounts).then(() => null, (e: unknown) => e);
    expect(findServiceError(err)).toMatchObject({ code: "unavailable", retryAfterS: DATABASE_RETRY_AFTER_S });
  });

  it("keeps the driver's code and message for a failing statement, and is not 'unavailable'", async () => {
    const db = createEdgeDb(env as unknown as { TURSO_DATABASE_URL: string });
    const err = await db.$client.execute("SELECT nope FROM nowhere").then(() => null, (e: unknown) => e);
    expect(findServiceError(err)).toBeNull();
    expect(causeChain(err)[0]).toMatchObject({ code: expect.stringMatching(/SQLITE|SQL_|ERROR/), message: expect.stringContaining("nowhere") });
  });

  it("counts rows written and round trips where the calls happen", async () => {
    const db = createEdgeDb(env as unknown as { TURSO_DATABASE_URL: string });
    resetMeter();
    const id = `acc_${crypto.randomUUID().slice(0, 8)}`;
    await db.$client.batch([
      { sql: "INSERT INTO accounts (id, name, kind) VALUES (?, 'a', 'personal'), (? || '2', 'b', 'personal')", args: [id, id] },
      { sql: "SELECT * FROM accounts WHERE id = ?", args: [id] },
    ]);
    expect(meter).toMatchObject({ dbRowsWritten: 2, dbRoundTrips: 1 });
  });
});
