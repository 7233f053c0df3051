// The Worker's client reaches a real sqld over HTTP from inside workerd.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accounts } from "../db/schema.ts";
import { createEdgeDb } from "./db.ts";

describe("edge database client", () => {
  it("writes and reads through @libsql/client/web", async () => {
    const db = createEdgeDb(env as unknown as { TURSO_DATABASE_URL: string });
    const id = `acc_${crypto.randomUUID().slice(0, 8)}`;
    await db.insert(accounts).values({ id, name: "Edge", kind: "personal" });
    const [row] = await db.select().from(accounts).where(eq(accounts.id, id));
    expect(row).toMatchObject({ id, name: "Edge", kind: "personal", creditBalance: 0 });
  });
});
