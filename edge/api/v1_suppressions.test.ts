// /api/v1/suppressions inside workerd: add, look up, list, remove, import and export, and one
// account never seeing or changing another's list.
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { suppressStatements } from "../suppressions/suppressions.ts";
import { call, errorCode, seedAccount, testDb } from "../testing.ts";

const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { "content-type": "application/json" } });
const csv = (body: string, type = "text/csv") => ({ body, headers: { "content-type": type } });

interface Suppression {
  email: string;
  reason: string;
  campaign_id: string | null;
  source: string;
  created_at: string;
}
type Page = { data: Suppression[]; next_cursor: string | null };

async function add(key: string, body: Record<string, unknown>) {
  return call("/api/v1/suppressions", { method: "POST", key, ...json(body) });
}

async function list(key: string, query = ""): Promise<Page> {
  const res = await call(`/api/v1/suppressions${query}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

async function importList(key: string, init: RequestInit, query = "") {
  return call(`/api/v1/suppressions/import${query}`, { method: "POST", key, ...init });
}

describe("/api/v1/suppressions", () => {
  it("adds an address under its key, keeps the first reason, looks it up, lists newest first, and removes it", async () => {
    const { key, keyId } = await seedAccount();
    const made = await add(key, { email: " Ada@Bücher.Example " });
    expect(made.status).toBe(201);
    const first = (await made.json()) as Suppression;
    expect(first).toEqual({ email: "ada@xn--bcher-kva.example", reason: "manual", campaign_id: null, source: keyId, created_at: expect.any(String) });

    // Again, under another spelling and reason: already there, its first entry answered.
    const again = await add(key, { email: "ADA@xn--bcher-kva.example", reason: "bounced" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(first);

    const bounced = await add(key, { email: "grace@example.org", reason: "bounced" });
    expect(bounced.status).toBe(201);
    for (const bad of [{ email: "not an address" }, { email: "ada@[127.0.0.1]" }, { email: "" }, { email: "x@y.test", reason: "forgotten" }, {}]) {
      const res = await add(key, bad);
      expect([res.status, await errorCode(res)]).toEqual([400, "validation_failed"]);
    }

    // Newest first, a page at a time.
    const page1 = await list(key, "?limit=1");
    expect(page1.data.map((s) => s.email)).toEqual(["grace@example.org"]);
    const page2 = await list(key, `?limit=1&cursor=${encodeURIComponent(page1.next_cursor!)}`);
    expect(page2.data.map((s) => s.email)).toEqual(["ada@xn--bcher-kva.example"]);
    expect(page2.next_cursor).toBeNull();
    expect((await list(key, "?reason=bounced")).data.map((s) => s.email)).toEqual(["grace@example.org"]);
    expect((await list(key, `?email=${encodeURIComponent("Ada@BÜCHER.example")}`)).data).toEqual([first]);
    expect((await list(key, "?email=nobody%40example.org")).data).toEqual([]);
    const badCursor = await call("/api/v1/suppressions?cursor=nope", { key });
    expect([badCursor.status, await errorCode(badCursor)]).toEqual([400, "validation_failed"]);

    const removed = await call(`/api/v1/suppressions/${encodeURIComponent("Ada@Bücher.example")}`, { method: "DELETE", key });
    expect(removed.status).toBe(204);
    const twice = await call(`/api/v1/suppressions/${encodeURIComponent("ada@xn--bcher-kva.example")}`, { method: "DELETE", key });
    expect([twice.status, await errorCode(twice)]).toEqual([404, "not_found"]);
    expect((await list(key)).data.map((s) => s.email)).toEqual(["grace@example.org"]);

    const audit = (await (await call("/api/v1/audit?action=suppression.", { key })).json()) as { data: { action: string; target: string; detail: Record<string, unknown> }[] };
    expect(audit.data.map((e) => [e.action, e.target, e.detail.reason])).toEqual([
      ["suppression.removed", "ada@xn--bcher-kva.example", "manual"],
      ["suppression.added", "grace@example.org", "bounced"],
      ["suppression.added", "ada@xn--bcher-kva.example", "manual"],
    ]);
  });

  it("imports a CSV by its email column and accounts for every row", async () => {
    const { key } = await seedAccount();
    expect((await add(key, { email: "known@example.com", reason: "unsubscribed" })).status).toBe(201);
    const file = [
      "name,Email,note",
      "Ada,ada@example.com,new",
      "Ada again,ADA@example.com,repeated in the file",
      "Known,known@example.com,on the list already",
      "Nobody,,empty cell",
      "Broken,not-an-address,bad syntax",
      '"Hopper, Grace",grace@example.org,"quoted, with a comma"',
      "",
    ].join("\r\n");
    const res = await importList(key, csv(file), "?reason=complained");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ rows: 6, added: 2, already: 2, invalid: 2 });
    const rows = (await list(key)).data;
    expect(rows.map((s) => [s.email, s.reason, s.source]).sort()).toEqual([
      ["ada@example.com", "complained", "import"],
      ["grace@example.org", "complained", "import"],
      // Its first reason stays.
      ["known@example.com", "unsubscribed", expect.stringMatching(/^key_/)],
    ]);
    const audit = (await (await call("/api/v1/audit?action=suppression.imported", { key })).json()) as { data: { detail: Record<string, unknown> }[] };
    expect(audit.data.map((e) => e.detail)).toEqual([{ reason: "complained", rows: 6, added: 2, already: 2, invalid: 2 }]);
  });

  it("imports a plain list and JSON, and refuses what it cannot read without writing anything", async () => {
    const { key } = await seedAccount();
    const plain = await importList(key, csv("one@example.com\ntwo@example.com\n\nthree@example\n", "text/plain"));
    expect(await plain.json()).toEqual({ rows: 3, added: 2, already: 0, invalid: 1 });
    const fromJson = await importList(key, json({ emails: ["two@example.com", "Four@Example.com", "", "x".repeat(600)], reason: "bounced" }));
    expect(await fromJson.json()).toEqual({ rows: 4, added: 1, already: 1, invalid: 2 });
    expect((await list(key, "?email=four%40example.com")).data.map((s) => s.reason)).toEqual(["bounced"]);

    // One row over the cap: nothing is written.
    const over = Array.from({ length: 100_001 }, (_, i) => `cap${i}@example.com`).join("\n");
    const tooMany = await importList(key, csv(over, "text/plain"));
    expect([tooMany.status, await errorCode(tooMany)]).toEqual([400, "validation_failed"]);
    const tooManyJson = await importList(key, json({ emails: Array.from({ length: 100_001 }, () => "a@example.com") }));
    expect([tooManyJson.status, await errorCode(tooManyJson)]).toEqual([400, "validation_failed"]);
    expect((await list(key, "?email=cap0%40example.com")).data).toEqual([]);

    const cases: [RequestInit, number, string][] = [
      [csv(""), 400, "empty_upload"],
      [{ body: new Uint8Array([0x61, 0xff, 0xfe, 0x0a]), headers: { "content-type": "text/csv" } }, 400, "not_utf8"],
      [{ body: "{", headers: { "content-type": "application/json" } }, 400, "invalid_json"],
      [json({ emails: "a@example.com" }), 400, "validation_failed"],
      [{ body: "a@example.com", headers: { "content-type": "application/xml" } }, 415, "unsupported_media_type"],
    ];
    for (const [init, status, code] of cases) {
      const res = await importList(key, init);
      expect([res.status, await errorCode(res)]).toEqual([status, code]);
    }
    const badReason = await importList(key, csv("a@example.com\n"), "?reason=forgotten");
    expect([badReason.status, await errorCode(badReason)]).toEqual([400, "validation_failed"]);
    // Bodies past the 64 KiB cap of other requests are the import's to take.
    const big = await importList(key, csv(`email,padding\n${Array.from({ length: 2_000 }, (_, i) => `big${i}@example.com,${"p".repeat(40)}`).join("\n")}\n`));
    expect(await big.json()).toEqual({ rows: 2_000, added: 2_000, already: 0, invalid: 0 });
  });

  it("exports CSV with formula-looking cells defused, and the file imports back unchanged", async () => {
    const { key, accountId } = await seedAccount();
    for (const email of ["=cmd@example.com", "+1@example.com", "-2+3@example.com", "ada@example.com"]) expect((await add(key, { email })).status).toBe(201);
    // A cell the export writes that no address could hold (as a bounce's or an old import's row might).
    await testDb().$client.batch(suppressStatements(accountId, "=cmd()|'/c calc'!a0@example.com", "bounced", { campaignId: "cmp_test", source: "=HYPERLINK(\"x\")" }, Date.now()), "write");

    const res = await call("/api/v1/suppressions/export", { key });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    expect(res.headers.get("content-disposition")).toContain("suppressions.csv");
    const text = await res.text();
    const rows = Papa.parse<string[]>(text.trim()).data;
    expect(rows[0]).toEqual(["email", "reason", "campaign_id", "source", "created_at"]);
    const byEmail = new Map(rows.slice(1).map((r) => [r[0]!, r]));
    expect([...byEmail.keys()].sort()).toEqual(["'+1@example.com", "'-2+3@example.com", "'=cmd()|'/c calc'!a0@example.com", "'=cmd@example.com", "ada@example.com"]);
    expect(byEmail.get("'=cmd()|'/c calc'!a0@example.com")).toEqual(["'=cmd()|'/c calc'!a0@example.com", "bounced", "cmp_test", "'=HYPERLINK(\"x\")", expect.stringMatching(/^\d{4}-\d\d-\d\dT/)]);
    // No cell of any row starts a formula.
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(/^\s*[=+\-@]/);

    const back = await importList(key, csv(text));
    expect(await back.json()).toEqual({ rows: 5, added: 0, already: 4, invalid: 1 });
  });

  it("keeps each account's list to itself", async () => {
    const a = await seedAccount();
    const b = await seedAccount();
    expect((await add(a.key, { email: "shared@example.com" })).status).toBe(201);
    expect((await add(a.key, { email: "only-a@example.com" })).status).toBe(201);
    expect((await list(b.key)).data).toEqual([]);
    expect((await list(b.key, "?email=only-a%40example.com")).data).toEqual([]);
    const del = await call("/api/v1/suppressions/only-a%40example.com", { method: "DELETE", key: b.key });
    expect([del.status, await errorCode(del)]).toEqual([404, "not_found"]);
    expect((await list(a.key, "?email=only-a%40example.com")).data).toHaveLength(1);
    // B's own entry for the same address is B's: added, not "already".
    expect((await add(b.key, { email: "shared@example.com", reason: "bounced" })).status).toBe(201);
    expect(await (await importList(b.key, csv("only-a@example.com\n"))).json()).toMatchObject({ added: 1, already: 0 });
    const exported = await (await call("/api/v1/suppressions/export", { key: b.key })).text();
    expect(exported.trim().split("\r\n").slice(1).map((r) => r.split(",")[0]).sort()).toEqual(["only-a@example.com", "shared@example.com"]);
    expect((await list(a.key, "?email=shared%40example.com")).data.map((s) => s.reason)).toEqual(["manual"]);
    for (const [method, path] of [["GET", "/api/v1/suppressions"], ["POST", "/api/v1/suppressions/import"], ["GET", "/api/v1/suppressions/export"], ["DELETE", "/api/v1/suppressions/x%40example.com"]] as const) {
      const res = await call(path, { method });
      expect([res.status, await errorCode(res)]).toEqual([401, "unauthorized"]);
    }
  });
});
