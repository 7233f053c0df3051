// GET /api/v1/audit inside workerd on a real sqld, with entries written by the actions themselves:
// a job created and canceled with a key, webhook changes, filters, pages and tenant isolation.
import { describe, expect, it } from "vitest";
import type { AuditView } from "../audit/audit.ts";
import { call, errorCode, seedAccount } from "../testing.ts";

type Page = { data: AuditView[]; next_cursor: string | null };

async function audit(key: string, query = ""): Promise<Page> {
  const res = await call(`/api/v1/audit${query}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

const json = (body: unknown) => ({ method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", "cf-connecting-ip": "203.0.113.7", "user-agent": "audit-test/1" } });

describe("GET /api/v1/audit", () => {
  it("a job created and then canceled with a key leaves job.created and job.canceled, targeting the job, by the key", async () => {
    const { key, keyId } = await seedAccount(100);
    const created = await call("/api/v1/jobs?name=audited", { key, ...json({ emails: ["a@example.com", "b@example.com"] }) });
    expect(created.status).toBe(201);
    const job = (await created.json()) as { id: string };
    const canceled = await call(`/api/v1/jobs/${job.id}`, { key, method: "DELETE", headers: { "cf-connecting-ip": "203.0.113.7" } });
    expect(canceled.status).toBe(200);

    const page = await audit(key);
    expect(page.data.map((e) => [e.action, e.target, e.actor])).toEqual([
      ["job.canceled", job.id, keyId],
      ["job.created", job.id, keyId],
    ]);
    const [cancel, create] = page.data;
    expect(create).toMatchObject({ ip: "203.0.113.7", user_agent: "audit-test/1", detail: { name: "audited", unique: 2 } });
    expect(create!.request_id).toMatch(/^req_/);
    expect(cancel!.request_id).not.toBe(create!.request_id);
    // Canceling again changes nothing, and writes nothing.
    await call(`/api/v1/jobs/${job.id}`, { key, method: "DELETE" });
    expect((await audit(key)).data).toHaveLength(2);
  });

  it("records webhook changes, filters by action, object or actor, pages, and shows only the key's account", async () => {
    const mine = await seedAccount(100);
    const theirs = await seedAccount(100);
    const made = (await (await call("/api/v1/webhooks", { key: mine.key, ...json({ url: "https://hooks.example.com/in", events: ["job.completed"] }) })).json()) as { id: string };
    await call(`/api/v1/webhooks/${made.id}/rotate-secret`, { key: mine.key, method: "POST" });
    await call(`/api/v1/webhooks/${made.id}`, { key: mine.key, method: "PATCH", body: JSON.stringify({ enabled: false }), headers: { "content-type": "application/json" } });
    await call(`/api/v1/webhooks/${made.id}`, { key: mine.key, method: "DELETE" });
    await call("/api/v1/jobs", { key: mine.key, ...json({ emails: ["c@example.com"] }) });

    const webhooks = await audit(mine.key, "?action=webhook.");
    expect(webhooks.data.map((e) => e.action)).toEqual(["webhook.deleted", "webhook.updated", "webhook.secret_rotated", "webhook.created"]);
    expect(webhooks.data.every((e) => e.target === made.id && e.actor === mine.keyId)).toBe(true);
    expect(webhooks.data.at(-1)!.detail).toMatchObject({ url: "https://hooks.example.com/in", events: ["job.completed"] });
    expect((await audit(mine.key, "?action=job.created")).data).toHaveLength(1);
    // An object's name with `_` in it is a prefix like any other, and `bounce.` is not `bounce_settings.`.
    await call("/api/v1/bounce-settings", { key: mine.key, method: "PATCH", body: JSON.stringify({ soft_threshold: 2.5 }), headers: { "content-type": "application/json" } });
    expect((await audit(mine.key, "?action=bounce_settings.")).data.map((e) => e.action)).toEqual(["bounce_settings.updated"]);
    expect((await audit(mine.key, "?action=bounce.")).data).toEqual([]);
    expect((await audit(mine.key, `?actor=${mine.keyId}`)).data).toHaveLength(6);
    expect((await audit(mine.key, "?actor=key_someoneelse")).data).toEqual([]);

    const first = await audit(mine.key, "?limit=3");
    expect(first.data).toHaveLength(3);
    const rest = await audit(mine.key, `?limit=3&cursor=${first.next_cursor}`);
    expect(rest.data.map((e) => e.action)).toEqual(["webhook.updated", "webhook.secret_rotated", "webhook.created"]);
    expect(rest.next_cursor).toBeNull();

    expect((await audit(theirs.key)).data).toEqual([]);
  });

  it("refuses a malformed action filter or cursor, and a missing key", async () => {
    const { key } = await seedAccount(1);
    const bad = await call("/api/v1/audit?action=DROP%20TABLE", { key });
    expect([bad.status, await errorCode(bad)]).toEqual([400, "validation_failed"]);
    const cursor = await call("/api/v1/audit?cursor=nope", { key });
    expect([cursor.status, await errorCode(cursor)]).toEqual([400, "validation_failed"]);
    expect((await call("/api/v1/audit")).status).toBe(401);
  });
});
