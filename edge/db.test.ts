// The Worker's client reaches a real sqld over HTTP from inside workerd.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accounts } from "../db/schema.ts";
import { LibsqlError, type Client } from "@libsql/client/web";
import { BUSY_BUDGET_MS, createEdgeDb, DATABASE_RETRY_AFTER_S, instrumentClient, MAX_DB_REQUESTS_IN_FLIGHT } from "./db.ts";
import { Gate } from "./gate.ts";
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

  it("waits its turn on SQLITE_BUSY (nothing was applied) and says unavailable once the budget is spent", async () => {
    let t = 0;
    const clock = { now: () => t, sleep: async (ms: number) => void (t += ms) };
    let busyLeft = 2;
    const fake = {
      execute: async () => {
        if (busyLeft-- > 0) throw new LibsqlError("SQLite error: database is locked", "SQLITE_BUSY");
        return { rows: [], rowsAffected: 1 };
      },
    } as unknown as Client;
    resetMeter();
    await instrumentClient(fake, clock).execute("UPDATE x SET y = 1");
    expect(meter).toMatchObject({ dbBusyRetries: 2, dbRowsWritten: 1 });
    busyLeft = Number.POSITIVE_INFINITY;
    const err = await instrumentClient(fake, clock).execute("UPDATE x SET y = 1").then(() => null, (e: unknown) => e);
    expect(findServiceError(err)).toMatchObject({ code: "unavailable" });
    expect(t).toBeGreaterThanOrEqual(BUSY_BUDGET_MS);
  });

  it.each([
    ["reads", "SELECT 1", MAX_DB_REQUESTS_IN_FLIGHT],
    ["writes", "UPDATE jobs SET name = name", 1],
  ])("keeps at most so many %s at the database; the rest wait in the Worker", async (_kind, sql, limit) => {
    let now = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const started: number[] = [];
    const fake = {
      execute: async (stmt: string) => {
        started.push(Number(/-- (\d+)$/.exec(stmt)![1]));
        most = Math.max(most, ++now);
        await new Promise<void>((r) => release.push(r));
        now--;
        return { rows: [], rowsAffected: 0 };
      },
    } as unknown as Client;
    const client = instrumentClient(fake);
    const calls = Array.from({ length: MAX_DB_REQUESTS_IN_FLIGHT * 3 }, (_, i) => client.execute(`${sql} -- ${i}`));
    let done = 0;
    while (done < calls.length) {
      await new Promise((r) => setTimeout(r, 0)); // let the waiting calls take the freed slots
      const batch = release.splice(0);
      expect(batch.length).toBeLessThanOrEqual(limit);
      for (const r of batch) r();
      done += batch.length;
    }
    await Promise.all(calls);
    expect(most).toBe(limit);
    if (limit === 1) expect(started).toEqual(started.slice().sort((a, b) => a - b)); // oldest waiter first
  });

  it("gives a freed write turn to the lane served longest ago: one job's queued chunks do not hold another's", async () => {
    const started: string[] = [];
    const release: (() => void)[] = [];
    const fake = {
      execute: async (stmt: string) => {
        started.push(/-- (\S+)$/.exec(stmt)![1]!);
        await new Promise<void>((r) => release.push(r));
        return { rows: [], rowsAffected: 1 };
      },
    } as unknown as Client;
    const big = instrumentClient(fake, undefined, () => "job:big");
    const small = instrumentClient(fake, undefined, () => "job:small");
    const calls = [
      ...Array.from({ length: 5 }, (_, i) => big.execute(`UPDATE results SET x = 1 -- big${i}`)),
      small.execute("UPDATE results SET x = 1 -- small"),
    ];
    while (started.length < calls.length) {
      await new Promise((r) => setTimeout(r, 0)); // let a waiting call take the freed turn
      release.splice(0).forEach((r) => r());
    }
    release.splice(0).forEach((r) => r());
    await Promise.all(calls);
    // The small job's write came second, not sixth; the big job's kept their order.
    expect(started).toEqual(["big0", "small", "big1", "big2", "big3", "big4"]);
  });

  describe("the gate's queue (issue 22: 1,000 WebSocket upgrades at once were told the database was unavailable)", () => {
    /**
     * A clock for a gate alone: sleeps are timers that fire in time order, each `lateMs` late (an
     * isolate busy with other requests runs its timers late), as `until` steps through them.
     */
    function simulatedClock(lateMs = 0) {
      let t = 0;
      const timers: { at: number; fire: () => void }[] = [];
      return {
        now: () => t,
        sleep: (ms: number) => new Promise<void>((fire) => timers.push({ at: t + ms, fire })),
        async until<T>(done: Promise<T>): Promise<T> {
          let settled = false;
          const watched = done.finally(() => (settled = true));
          for (;;) {
            await new Promise((r) => setTimeout(r, 0)); // let everything woken so far run to its next sleep
            if (settled) return watched;
            timers.sort((a, b) => a.at - b.at);
            const next = timers.shift();
            if (!next) throw new Error("the gate's callers wait on nothing");
            t = Math.max(t, next.at + lateMs);
            next.fire();
          }
        },
      };
    }
    const callers = (gate: Gate, clock: { now(): number }, n: number, work: (i: number) => Promise<void>) =>
      Promise.all(Array.from({ length: n }, (_, i) => gate.run(() => work(i), clock.now() + BUSY_BUDGET_MS, `request:${i}`)));

    it("serves a burst while the isolate is too busy to run its timers on time: that time is not the database's", async () => {
      const clock = simulatedClock(1_000);
      const gate = new Gate(4, clock, BUSY_BUDGET_MS);
      const turns = await clock.until(callers(gate, clock, 40, () => clock.sleep(5)));
      expect(turns.filter((t) => t.ran)).toHaveLength(40);
      expect(clock.now()).toBeGreaterThan(3 * BUSY_BUDGET_MS); // the burst took far longer than the budget
    });

    it("serves a queue that moves, however long it is", async () => {
      const clock = simulatedClock();
      const gate = new Gate(2, clock, BUSY_BUDGET_MS);
      const turns = await clock.until(callers(gate, clock, 40, () => clock.sleep(500)));
      expect(turns.filter((t) => t.ran)).toHaveLength(40);
      expect(clock.now()).toBeGreaterThanOrEqual(20 * 500);
    });

    it("gives up on time when the turns ahead never end (a database that answers nothing)", async () => {
      const clock = simulatedClock();
      const gate = new Gate(2, clock, BUSY_BUDGET_MS);
      void callers(gate, clock, 2, () => new Promise<void>(() => {}));
      const turns = await clock.until(callers(gate, clock, 5, async () => {}));
      expect(turns.map((t) => t.ran)).toEqual([false, false, false, false, false]);
      expect(clock.now()).toBeGreaterThanOrEqual(BUSY_BUDGET_MS);
      expect(clock.now()).toBeLessThan(BUSY_BUDGET_MS + 100);
    });
  });
});
