// /api/v1/templates inside workerd: checked on every save with core/template.ts, previewed for
// given variables, a job's first deliverable row, or the sample person.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { auditLog, campaigns, jobEmails, jobs } from "../../db/schema.ts";
import { call, errorCode, seedAccount, testDb } from "../testing.ts";

const db = testDb();
const api = (key: string, path: string, init: RequestInit = {}) => call(path, { ...init, key });
const send = (key: string, method: string, path: string, body?: unknown) =>
  api(key, path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) });

interface Template {
  id: string;
  name: string;
  subject: string;
  html: string;
  text: string | null;
  variables: string[];
  [k: string]: unknown;
}
interface Preview {
  subject: string;
  html: string;
  text: string;
  variables: string[];
}

const launch = {
  name: "Spring launch",
  subject: "{{ first_name | default: \"Hello\" }}, our spring range is here",
  html: "<p>Hi {{ first_name | default: \"there\" }} of {{ company }},</p>\n<p>Our spring range is here.</p>",
};

async function json<T = Template>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function made(key: string, body: object = launch): Promise<Template> {
  return json(await send(key, "POST", "/api/v1/templates", body), 201);
}

async function errorOf(res: Response): Promise<[number, string, string]> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return [res.status, body.error.code, body.error.message];
}

describe("/api/v1/templates", () => {
  it("creates, reads, lists, updates and deletes a template, with the variables it reads", async () => {
    const { accountId, key } = await seedAccount(0);
    const t = await made(key);
    expect(t).toEqual({
      id: expect.stringMatching(/^tpl_/),
      ...launch,
      text: null,
      variables: ["company", "first_name", "unsubscribe_url"],
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(await json(await api(key, `/api/v1/templates/${t.id}`), 200)).toEqual(t);
    const second = await made(key, { ...launch, name: "Autumn", text: "Hi {{ first_name }}\nUnsubscribe: {{ unsubscribe_url }}" });
    const page1 = await json<{ data: Template[]; next_cursor: string }>(await api(key, "/api/v1/templates?limit=1"), 200);
    expect(page1.data.map((x) => x.id)).toEqual([second.id]);
    const page2 = await json<{ data: Template[]; next_cursor: string | null }>(await api(key, `/api/v1/templates?limit=1&cursor=${page1.next_cursor}`), 200);
    expect([page2.data.map((x) => x.id), page2.next_cursor]).toEqual([[t.id], null]);

    const patched = await json(await send(key, "PATCH", `/api/v1/templates/${t.id}`, { subject: "News for {{ last_name }}", text: "Plain {{ first_name }}" }), 200);
    expect(patched).toMatchObject({ name: "Spring launch", subject: "News for {{ last_name }}", html: launch.html, text: "Plain {{ first_name }}", variables: ["company", "first_name", "last_name", "unsubscribe_url"] });
    expect(await json(await send(key, "PATCH", `/api/v1/templates/${second.id}`, { text: null }), 200)).toMatchObject({ text: null });

    expect((await api(key, `/api/v1/templates/${t.id}`, { method: "DELETE" })).status).toBe(204);
    const gone = await api(key, `/api/v1/templates/${t.id}`);
    expect([gone.status, await errorCode(gone)]).toEqual([404, "not_found"]);
    const audit = await db.select().from(auditLog).where(and(eq(auditLog.accountId, accountId), eq(auditLog.target, t.id))).orderBy(auditLog.id);
    expect(audit.map((a) => a.action)).toEqual(["template.created", "template.updated", "template.deleted"]);
  });

  it("refuses a template that does not parse with template_invalid naming field, line and column, and changes nothing", async () => {
    const { key } = await seedAccount(0);
    const filter = await send(key, "POST", "/api/v1/templates", { ...launch, html: "<p>Hi</p>\n<p>there</p>\n<p>{{ first_name | nosuchfilter }}</p>" });
    expect(await errorOf(filter)).toEqual([400, "template_invalid", "html line 3, column 4: undefined filter: nosuchfilter"]);
    const subject = await errorOf(await send(key, "POST", "/api/v1/templates", { ...launch, subject: "Hi {% if first_name %}" }));
    expect(subject.slice(0, 2)).toEqual([400, "template_invalid"]);
    expect(subject[2]).toMatch(/^subject line 1, column \d+: /);
    const include = await errorOf(await send(key, "POST", "/api/v1/templates", { ...launch, text: "{% include '/etc/passwd' %}" }));
    expect(include.slice(0, 2)).toEqual([400, "template_invalid"]);
    expect(include[2]).toMatch(/^text line 1, column \d+: /);
    for (const body of [{ ...launch, name: "  " }, { ...launch, html: "" }, { subject: "x", html: "y" }, { ...launch, colour: "blue" }]) {
      const res = await send(key, "POST", "/api/v1/templates", body);
      expect([res.status, await errorCode(res)], JSON.stringify(body)).toEqual([400, "validation_failed"]);
    }
    expect((await json<{ data: Template[] }>(await api(key, "/api/v1/templates"), 200)).data).toEqual([]);

    const t = await made(key);
    const broken = await send(key, "PATCH", `/api/v1/templates/${t.id}`, { html: "{% for x in list %}" });
    expect((await errorOf(broken)).slice(0, 2)).toEqual([400, "template_invalid"]);
    expect(await json(await api(key, `/api/v1/templates/${t.id}`), 200)).toEqual(t);
  });

  it("answers another account's template as not_found, to every operation", async () => {
    const owner = await seedAccount(0);
    const other = await seedAccount(0);
    const t = await made(owner.key);
    const tries = [
      api(other.key, `/api/v1/templates/${t.id}`),
      send(other.key, "PATCH", `/api/v1/templates/${t.id}`, { name: "mine now" }),
      api(other.key, `/api/v1/templates/${t.id}`, { method: "DELETE" }),
      send(other.key, "POST", `/api/v1/templates/${t.id}/preview`, {}),
    ];
    for (const res of await Promise.all(tries)) expect([res.status, await errorCode(res)]).toEqual([404, "not_found"]);
    expect((await json<{ data: Template[] }>(await api(other.key, "/api/v1/templates"), 200)).data).toEqual([]);
    expect(await json(await api(owner.key, `/api/v1/templates/${t.id}`), 200)).toEqual(t);
  });

  it("refuses to delete a template a campaign that has not finished uses, naming it", async () => {
    const { accountId, key } = await seedAccount(0);
    const t = await made(key);
    const campaignId = newId("cmp");
    await db.insert(campaigns).values({
      id: campaignId, accountId, name: "launch", jobId: newId("job"), senderId: newId("snd"), templateId: t.id, status: "draft",
      consentBasis: "opt_in", consentSource: "signup form", createdBy: "key_test",
    });
    const [status, code, message] = await errorOf(await api(key, `/api/v1/templates/${t.id}`, { method: "DELETE" }));
    expect([status, code, message.includes(`${campaignId} (draft)`)]).toEqual([409, "conflict", true]);
    await db.update(campaigns).set({ status: "canceled" }).where(eq(campaigns.id, campaignId));
    expect((await api(key, `/api/v1/templates/${t.id}`, { method: "DELETE" })).status).toBe(204);
  });
});

describe("POST /api/v1/templates/{id}/preview", () => {
  /** A job of the account whose uploaded columns hold a name and a company; only the second row is deliverable. */
  async function job(accountId: string, rows: [string, string, string, "deliverable" | "undeliverable"][]) {
    const jobId = newId("job");
    await db.insert(jobs).values({ id: jobId, accountId, name: "leads.csv", status: "completed", columns: JSON.stringify(["First Name", "Email", "Company"]), emailColumn: "Email" });
    if (rows.length > 0) {
      await db.insert(jobEmails).values(
        rows.map(([name, email, company, verdict], i) => ({ jobId, normalized: email, email, rowIndex: i, row: JSON.stringify([name, email, company]), verdict, reason: verdict === "deliverable" ? "accepted" : "mailbox_not_found", result: "{}" })),
      );
    }
    return jobId;
  }
  const preview = (key: string, id: string, body?: object) => send(key, "POST", `/api/v1/templates/${id}/preview`, body);

  it("renders given variables, escaping them in the HTML, with a text part made from it and a harmless unsubscribe link", async () => {
    const { key } = await seedAccount(0);
    const t = await made(key);
    const p = await json<Preview>(await preview(key, t.id, { vars: { first_name: "Grace", company: "<script>alert(1)</script>" } }), 200);
    expect(p.subject).toBe("Grace, our spring range is here");
    expect(p.html).toContain("<p>Hi Grace of &lt;script&gt;alert(1)&lt;/script&gt;,</p>");
    expect(p.html).toContain('href="http://edge.test/u/preview"');
    expect(p.text).toContain("Hi Grace of <script>alert(1)</script>,");
    expect(p.text).toContain("http://edge.test/u/preview");
    expect(p.variables).toEqual(["company", "first_name", "unsubscribe_url"]);
  });

  it("renders a job's first deliverable row by its columns, else the sample person", async () => {
    const { accountId, key } = await seedAccount(0);
    const t = await made(key);
    const jobId = await job(accountId, [
      ["Zed", "zed@example.com", "Gone Ltd", "undeliverable"],
      ["Grace", "grace@example.com", "Navy", "deliverable"],
      ["Alan", "alan@example.com", "Bletchley", "deliverable"],
    ]);
    expect((await json<Preview>(await preview(key, t.id, { job_id: jobId }), 200)).html).toContain("<p>Hi Grace of Navy,</p>");
    // Given variables win over the job's row.
    expect((await json<Preview>(await preview(key, t.id, { job_id: jobId, vars: { first_name: "Ann" } }), 200)).subject).toBe("Ann, our spring range is here");
    const sample = "<p>Hi Ada of Analytical Engines,</p>";
    expect((await json<Preview>(await preview(key, t.id, {}), 200)).html).toContain(sample);
    expect((await json<Preview>(await preview(key, t.id), 200)).html).toContain(sample);
    const empty = await job(accountId, [["Zed", "zed@example.com", "Gone Ltd", "undeliverable"]]);
    expect((await json<Preview>(await preview(key, t.id, { job_id: empty }), 200)).html).toContain(sample);

    const other = await seedAccount(0);
    const theirs = await job(other.accountId, [["Eve", "eve@example.com", "Them", "deliverable"]]);
    const res = await preview(key, t.id, { job_id: theirs });
    expect([res.status, await errorCode(res)]).toEqual([404, "not_found"]);
    await db.update(jobs).set({ deletedAt: Date.now() }).where(eq(jobs.id, jobId));
    const deleted = await preview(key, t.id, { job_id: jobId });
    expect([deleted.status, await errorCode(deleted)]).toEqual([404, "not_found"]);
    const bad = await preview(key, t.id, { vars: { first_name: 7 } });
    expect([bad.status, await errorCode(bad)]).toEqual([400, "validation_failed"]);
  });
});
