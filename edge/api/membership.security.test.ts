// A former teammate, inside workerd against the real sqld: an API key works only while the person
// who made it is a member of its account whose role may make keys. The team page's removal and
// role change revoke their keys (and say so in the audit log); the API's key check refuses a key
// whose maker lost that right by any other road; a live token minted with such a key opens nothing.
// Clerk's road (its webhooks) is in clerk_webhook.test.ts.
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { apiKeys, auditLog, members } from "../../db/schema.ts";
import { createTeam, removeMember, setMember, type Person } from "../identity/accounts.ts";
import { createApiKey, listApiKeys } from "../identity/keys.ts";
import { checkLiveToken, mintLiveToken } from "../identity/livetoken.ts";
import { call, errorCode, seedAccount, seedJobWithBatch, testDb as db, testServices as services, seedPerson, viewerAs } from "../testing.ts";

const person = seedPerson;
const as = viewerAs;

/** A team with an owner and two admins, each with a key of their own. */
async function team() {
  const [owner, admin, other] = [await person("owner"), await person("admin"), await person("other")];
  const teamId = await createTeam(services(), await as(owner), { name: "Former teammates" });
  await setMember(services(), await as(owner, teamId), { email: admin.email, role: "admin" });
  await setMember(services(), await as(owner, teamId), { email: other.email, role: "admin" });
  const keyOf = async (p: Person) => createApiKey(services(), { accountId: teamId, actor: p.id }, { name: `${p.email}'s integration`, mode: "live" });
  return { teamId, owner, admin, other, ownerKey: await keyOf(owner), adminKey: await keyOf(admin), otherKey: await keyOf(other) };
}

/** What the API answers a key: 200, or the status and code. */
async function answer(key: string, bindings?: Env): Promise<string> {
  const res = await call("/api/v1/account", { key, ...(bindings ? { env: bindings } : {}) });
  return res.status === 200 ? "200" : `${res.status} ${await errorCode(res)}`;
}

async function auditOf(teamId: string, action: string) {
  const rows = await db().select().from(auditLog).where(and(eq(auditLog.accountId, teamId), eq(auditLog.action, action)));
  return rows.map((r) => ({ actor: r.actor, target: r.target, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
}

describe("the team page", () => {
  it("removing a member revokes their keys at once, leaves everyone else's working, and audits both", async () => {
    const t = await team();
    expect(await answer(t.adminKey.key)).toBe("200");
    expect(await removeMember(services(), await as(t.owner, t.teamId), t.admin.id)).toEqual({ keysRevoked: [t.adminKey.view.id] });
    expect(await answer(t.adminKey.key)).toBe("401 key_revoked");
    expect([await answer(t.ownerKey.key), await answer(t.otherKey.key)]).toEqual(["200", "200"]);
    expect(await auditOf(t.teamId, "member.removed")).toEqual([
      { actor: t.owner.id, target: t.admin.id, detail: { email: t.admin.email, keysRevoked: [t.adminKey.view.id] } },
    ]);
    expect(await auditOf(t.teamId, "api_key.revoked")).toEqual([
      { actor: t.owner.id, target: t.adminKey.view.id, detail: { reason: "member_removed", maker: t.admin.id } },
    ]);
  });

  it("making an admin a member revokes their keys; a role that may still make keys revokes nothing", async () => {
    const t = await team();
    expect(await setMember(services(), await as(t.owner, t.teamId), { email: t.other.email, role: "owner" })).toEqual({ keysRevoked: [] });
    expect(await setMember(services(), await as(t.owner, t.teamId), { email: t.admin.email, role: "member" })).toEqual({ keysRevoked: [t.adminKey.view.id] });
    expect(await answer(t.adminKey.key)).toBe("401 key_revoked");
    expect([await answer(t.ownerKey.key), await answer(t.otherKey.key)]).toEqual(["200", "200"]);
    expect(await auditOf(t.teamId, "member.role_changed")).toEqual([
      { actor: t.owner.id, target: t.other.id, detail: { email: t.other.email, role: "owner", from: "admin", keysRevoked: [] } },
      { actor: t.owner.id, target: t.admin.id, detail: { email: t.admin.email, role: "member", from: "admin", keysRevoked: [t.adminKey.view.id] } },
    ]);
    expect(await auditOf(t.teamId, "api_key.revoked")).toEqual([{ actor: t.owner.id, target: t.adminKey.view.id, detail: { reason: "role_changed", maker: t.admin.id } }]);
    // Made an admin again, they make a new key; the old one stays revoked.
    await setMember(services(), await as(t.owner, t.teamId), { email: t.admin.email, role: "admin" });
    expect(await answer(t.adminKey.key)).toBe("401 key_revoked");
    expect(await answer((await createApiKey(services(), { accountId: t.teamId, actor: t.admin.id }, { name: "again", mode: "live" })).key)).toBe("200");
  });

  it("a member cannot make a key, even with a page loaded while they were an admin", async () => {
    const t = await team();
    await setMember(services(), await as(t.owner, t.teamId), { email: t.admin.email, role: "member" });
    const made = await createApiKey(services(), { accountId: t.teamId, actor: t.admin.id }, { name: "stale page", mode: "live" }).then(() => "ok", (e: { code?: string }) => e.code);
    expect(made).toBe("forbidden");
    expect((await listApiKeys(services(), { accountId: t.teamId, actor: t.owner.id })).filter((k) => k.revokedAt === null).map((k) => k.id).sort()).toEqual([t.ownerKey.view.id, t.otherKey.view.id].sort());
  });
});

describe("the API's key check, whatever changed the membership", () => {
  it("refuses a key whose maker left or was demoted without its revocation, and revokes it then", async () => {
    const t = await team();
    // Changes made around the services (an older version, a manual fix in the database).
    await db().delete(members).where(and(eq(members.accountId, t.teamId), eq(members.userId, t.admin.id)));
    await db().update(members).set({ role: "member" }).where(and(eq(members.accountId, t.teamId), eq(members.userId, t.other.id)));
    // Waits for the request's background work: the revocation it records.
    expect(await answer(t.adminKey.key, env)).toBe("401 key_revoked");
    expect(await answer(t.otherKey.key, env)).toBe("401 key_revoked");
    expect(await answer(t.ownerKey.key)).toBe("200");
    const revoked = new Map((await listApiKeys(services(), { accountId: t.teamId, actor: t.owner.id })).map((k) => [k.id, k.revokedAt !== null]));
    expect([revoked.get(t.adminKey.view.id), revoked.get(t.otherKey.view.id), revoked.get(t.ownerKey.view.id)]).toEqual([true, true, false]);
    expect((await auditOf(t.teamId, "api_key.revoked")).sort((a, b) => String(a.target).localeCompare(String(b.target)))).toEqual(
      [
        { actor: "system", target: t.adminKey.view.id, detail: { reason: "maker_not_member", maker: t.admin.id } },
        { actor: "system", target: t.otherKey.view.id, detail: { reason: "maker_not_member", maker: t.other.id } },
      ].sort((a, b) => a.target.localeCompare(b.target)),
    );
    // A second use changes nothing more.
    expect(await answer(t.adminKey.key, env)).toBe("401 key_revoked");
    expect(await auditOf(t.teamId, "api_key.revoked")).toHaveLength(2);
  });

  it("keeps a key with no recorded maker working (older keys, the dev key's account)", async () => {
    const { key, keyId } = await seedAccount(10);
    const [row] = await db().select({ createdBy: apiKeys.createdBy }).from(apiKeys).where(eq(apiKeys.id, keyId));
    expect(row!.createdBy).toBeNull();
    expect(await answer(key)).toBe("200");
  });
});

describe("a live token minted with a key", () => {
  it("opens nothing once the key's maker is no longer a member who may make keys", async () => {
    const t = await team();
    const { jobId } = await seedJobWithBatch(t.teamId, ["ada@example.com"]);
    const token = (await mintLiveToken(services(), { accountId: t.teamId, actor: t.adminKey.view.id }, { jobId, holder: { key: t.adminKey.view.id } })).token;
    expect(await checkLiveToken(services(), token, jobId)).toBe(t.teamId);
    // Demoted around the services: the key row is not revoked, the token still must not open.
    await db().update(members).set({ role: "member" }).where(and(eq(members.accountId, t.teamId), eq(members.userId, t.admin.id)));
    expect(await checkLiveToken(services(), token, jobId)).toBeNull();
  });
});
