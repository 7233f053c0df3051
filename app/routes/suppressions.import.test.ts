// The suppression page's import, list and export against a real sqld: a CSV uploaded as the
// browser's form sends it lands in one write and the page is told how every row ended (in its URL
// without JavaScript, in JSON to its script); an upload
// without a file says so and changes nothing; the list filters and looks up; removing takes an
// address off; the export is the list as CSV and only this account's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { load, post, startPageTestbed, type PageTestbed } from "../testing.ts";
import { action as importAction } from "./suppressions.import.ts";
import { action as pageAction, loader as pageLoader } from "./suppressions.tsx";
import { loader as exportLoader } from "./suppressions[.]csv.ts";

let bed: PageTestbed;
beforeAll(async () => {
  bed = await startPageTestbed("suppressions");
}, 60_000);
afterAll(async () => {
  await bed?.stop();
});

type Data = Awaited<ReturnType<typeof pageLoader>>;

function upload(csv: string | null, reason = "manual"): FormData {
  const form = new FormData();
  form.set("reason", reason);
  form.set("file", csv === null ? new File([], "") : new File([csv], "list.csv", { type: "text/csv" }));
  return form;
}

/** Where the import sent the browser back to, and what the page then says. */
async function importCsv(cookie: string, form: FormData): Promise<Data["imported"]> {
  const res = (await post(importAction, bed, "/suppressions/import", cookie, form)) as Response;
  expect(res.status).toBe(302);
  const back = res.headers.get("location")!;
  expect(back).toMatch(/^\/suppressions\?/);
  return ((await load(pageLoader, bed, back, cookie)) as Data).imported;
}

describe("the suppression page", () => {
  it("imports a CSV in one write and accounts for every row", async () => {
    const { cookie } = await bed.person("importer");
    expect(await post(pageAction, bed, "/suppressions", cookie, { intent: "add", email: "Old@Example.com", reason: "manual" })).toEqual({ ok: "old@example.com is suppressed: no campaign sends to it." });
    const csv = "name,email\nAda,ada@example.com\nOld,old@example.com\nTypo,not an address\nAda again,ADA@example.com\n";
    expect(await importCsv(cookie, upload(csv, "complained"))).toEqual({ counts: { rows: 4, added: 1, already: 2, invalid: 1 } });
    const data = (await load(pageLoader, bed, "/suppressions", cookie)) as Data;
    expect(data.entries.map((e) => [e.email, e.reason, e.from])).toEqual(
      expect.arrayContaining([
        ["ada@example.com", "complained", "an import"],
        ["old@example.com", "manual", expect.stringMatching(/^importer\.\d+@example\.com$/)],
      ]),
    );
    expect(data.entries).toHaveLength(2);
  });

  it("answers the page's script in JSON: the counts, or the error with the API's status", async () => {
    const { cookie } = await bed.person("scripted");
    const ask = async (form: FormData) => {
      const request = new Request("http://127.0.0.1:8787/suppressions/import", { method: "POST", body: form, headers: { cookie, accept: "application/json" } });
      const res = (await importAction({ request, context: { ...bed.context }, params: {} })) as Response;
      return [res.status, await res.json()];
    };
    expect(await ask(upload("a@example.com\nb@example.com\n"))).toEqual([200, { counts: { rows: 2, added: 2, already: 0, invalid: 0 } }]);
    expect(await ask(upload("email\n"))).toEqual([400, { error: { code: "empty_upload", message: "The import holds no rows" } }]);
  });

  it("says why nothing was imported when no file came", async () => {
    const { cookie } = await bed.person("empty");
    expect(await importCsv(cookie, upload(null))).toEqual({ error: "Choose a CSV file to import." });
    expect(await importCsv(cookie, upload("email\n"))).toEqual({ error: "The import holds no rows" });
    expect(((await load(pageLoader, bed, "/suppressions", cookie)) as Data).entries).toEqual([]);
  });

  it("filters by reason, looks an address up, and removes it", async () => {
    const { cookie } = await bed.person("keeper");
    await post(pageAction, bed, "/suppressions", cookie, { intent: "add", email: "a@example.com", reason: "bounced" });
    await post(pageAction, bed, "/suppressions", cookie, { intent: "add", email: "b@example.com", reason: "manual" });
    const emails = async (path: string) => ((await load(pageLoader, bed, path, cookie)) as Data).entries.map((e) => e.email);
    expect(await emails("/suppressions?reason=bounced")).toEqual(["a@example.com"]);
    expect(await emails("/suppressions?email=B%40Example.com")).toEqual(["b@example.com"]);
    expect(await post(pageAction, bed, "/suppressions", cookie, { intent: "remove", email: "b@example.com" })).toEqual({ ok: "b@example.com was taken off the list: campaigns may send to it again." });
    expect(await emails("/suppressions")).toEqual(["a@example.com"]);
    expect(await post(pageAction, bed, "/suppressions", cookie, { intent: "remove", email: "b@example.com" })).toEqual({ error: { code: "not_found", message: "b@example.com is not on the suppression list" } });
    expect(await post(pageAction, bed, "/suppressions", cookie, { intent: "add", email: "nobody", reason: "manual" })).toEqual({ error: { code: "validation_failed", message: expect.stringContaining("is not an address") } });
  });

  it("exports the account's list as CSV, and no other account's", async () => {
    const mine = await bed.person("exporter");
    const other = await bed.person("other");
    await post(pageAction, bed, "/suppressions", mine.cookie, { intent: "add", email: "=cmd@example.com", reason: "manual" });
    await post(pageAction, bed, "/suppressions", other.cookie, { intent: "add", email: "theirs@example.com", reason: "manual" });
    const res = (await load(exportLoader, bed, "/suppressions.csv", mine.cookie)) as Response;
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = (await res.text()).trim().split(/\r?\n/);
    expect(lines[0]).toBe("email,reason,campaign_id,source,created_at");
    // A cell a spreadsheet would take for a formula is defused (core/csvexport.ts).
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 2).join(","))).toEqual(["'=cmd@example.com,manual"]);
  });
});
