// POST /webhooks/clerk inside workerd against the real sqld, events signed as Clerk (Svix) signs
// them and shaped as Clerk documents them (@clerk/backend's OrganizationMembershipWebhookEvent):
// a membership removed or re-roled in Clerk revokes that person's keys in the team at once, says
// why in the audit log, changes nothing the second time, and a session token issued before the
// change cannot undo it.
import type { OrganizationMembershipWebhookEvent } from "@clerk/backend/webhooks";
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { accounts, auditLog, members } from "../../db/schema.ts";
import { ensurePersonalAccount, type Person } from "../identity/accounts.ts";
import { syncClerkOrganization } from "../identity/clerk.ts";
import { createApiKey } from "../identity/keys.ts";
import { call, errorCode, testDb as db, testServices as services } from "../testing.ts";

const SECRET = `whsec_${btoa("clerk-webhook-test-secret-0123")}`;
const withClerk: Env = { ...env, CLERK_WEBHOOK_SIGNING_SECRET: SECRET };

/** Clerk's role keys for our roles. */
const CLERK_ROLE = { owner: "org:owner", admin: "org:admin", member: "org:member" } as const;

function membershipEvent(type: OrganizationMembershipWebhookEvent["type"], org: string, p: Person, role: string) {
  const at = Date.now();
  const event = {
    type,
    object: "event" as const,
    event_attributes: { http_request: { client_ip: "203.0.113.7", user_agent: "Mozilla/5.0 (the Clerk Dashboard)" } },
    data: {
      object: "organization_membership" as const,
      id: `orgmem_${newId("req").slice(4)}`,
      role,
      permissions: [],
      public_metadata: {},
      created_at: at - 86_400_000,
      updated_at: at,
      organization: {
        object: "organization" as const, id: org, name: "Acme", slug: "acme", has_image: false, max_allowed_memberships: 5, admin_delete_enabled: true,
        public_metadata: {}, created_at: at - 86_400_000, updated_at: at,
      },
      public_user_data: { user_id: p.id, identifier: p.email, first_name: "Ada", last_name: null, image_url: "https://img.clerk.com/x", has_image: false },
    },
  } satisfies OrganizationMembershipWebhookEvent;
  // Clerk's deliveries also carry these, beside what the SDK's type describes.
  return { ...event, timestamp: at, instance_id: "ins_test" };
}

/** Delivers `event` as Svix does: svix-id, svix-timestamp (s) and `v1,<base64 HMAC>` of "id.timestamp.body". */
async function deliver(event: object, opts: { at?: Date; secret?: string; id?: string; bindings?: Env } = {}): Promise<Response> {
  const body = JSON.stringify(event);
  const id = opts.id ?? `msg_${newId("req").slice(4)}`;
  const at = opts.at ?? new Date();
  const signature = new Webhook(opts.secret ?? SECRET).sign(id, at, body);
  return call("/webhooks/clerk", {
    method: "POST",
    body,
    headers: { "content-type": "application/json", "svix-id": id, "svix-timestamp": String(Math.floor(at.getTime() / 1000)), "svix-signature": signature },
    env: opts.bindings ?? withClerk,
  });
}

async function outcome(event: object, id?: string): Promise<string> {
  const res = await deliver(event, id ? { id } : {});
  expect(res.status).toBe(200);
  return ((await res.json()) as { outcome: string }).outcome;
}

async function person(name: string): Promise<Person> {
  const p = { id: `user_${name}${newId("req").slice(4, 12)}`, email: `${name}.${newId("req").slice(4, 12)}@example.com` };
  await ensurePersonalAccount(services(), p, { signupCredits: 0, clerkUserId: p.id });
  return p;
}

/** A Clerk organization whose owner and two admins signed in here, each with a key. */
async function organization() {
  const org = `org_${newId("req").slice(4)}`;
  const [owner, admin, other] = [await person("owner"), await person("admin"), await person("other")];
  for (const [p, role] of [[owner, "owner"], [admin, "admin"], [other, "admin"]] as const) await syncClerkOrganization(services(), p, { org: { id: org, name: "acme", role } });
  const [account] = await db().select({ id: accounts.id }).from(accounts).where(eq(accounts.clerkId, org));
  const teamId = account!.id;
  const keyOf = async (p: Person) => createApiKey(services(), { accountId: teamId, actor: p.id }, { name: "integration", mode: "live" });
  return { org, teamId, owner, admin, other, ownerKey: await keyOf(owner), adminKey: await keyOf(admin), otherKey: await keyOf(other) };
}

async function answer(key: string): Promise<string> {
  const res = await call("/api/v1/account", { key });
  return res.status === 200 ? "200" : `${res.status} ${await errorCode(res)}`;
}

async function auditOf(accountId: string) {
  const rows = await db().select().from(auditLog).where(and(eq(auditLog.accountId, accountId), eq(auditLog.actor, "clerk")));
  return rows.map((r) => ({ action: r.action, target: r.target, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null, ip: r.ip, requestId: r.requestId }));
}

const roleOf = async (teamId: string, p: Person) =>
  (await db().select({ role: members.role }).from(members).where(and(eq(members.accountId, teamId), eq(members.userId, p.id))))[0]?.role ?? null;

describe("a membership Clerk ends", () => {
  it("revokes the keys the person made in the team, and only those, once, with the reason and where it came from", async () => {
    const o = await organization();
    expect(await answer(o.adminKey.key)).toBe("200");
    const event = membershipEvent("organizationMembership.deleted", o.org, o.admin, CLERK_ROLE.admin);
    expect(await outcome(event, "msg_removed_once")).toBe("applied");
    expect(await answer(o.adminKey.key)).toBe("401 key_revoked");
    expect([await answer(o.ownerKey.key), await answer(o.otherKey.key)]).toEqual(["200", "200"]);
    expect(await roleOf(o.teamId, o.admin)).toBeNull();
    const entries = [
      { action: "member.removed", target: o.admin.id, detail: { email: o.admin.email, keysRevoked: [o.adminKey.view.id] }, ip: "203.0.113.7", requestId: "msg_removed_once" },
      { action: "api_key.revoked", target: o.adminKey.view.id, detail: { reason: "member_removed", maker: o.admin.id }, ip: "203.0.113.7", requestId: "msg_removed_once" },
    ];
    expect(await auditOf(o.teamId)).toEqual(entries);
    // Svix retries; the same event again changes nothing and records nothing.
    expect(await outcome(event, "msg_removed_once")).toBe("unchanged");
    expect(await auditOf(o.teamId)).toEqual(entries);
  });

  it("is not undone by a session token Clerk issued before the removal; a later one (invited again) brings them back", async () => {
    const o = await organization();
    const before = Date.now() - 30_000;
    expect(await outcome(membershipEvent("organizationMembership.deleted", o.org, o.admin, CLERK_ROLE.admin))).toBe("applied");
    await syncClerkOrganization(services(), o.admin, { org: { id: o.org, name: "acme", role: "admin" }, issuedAt: before });
    expect(await roleOf(o.teamId, o.admin)).toBeNull();
    await syncClerkOrganization(services(), o.admin, { org: { id: o.org, name: "acme", role: "member" }, issuedAt: Date.now() + 1_000 });
    expect(await roleOf(o.teamId, o.admin)).toBe("member");
    expect(await answer(o.adminKey.key)).toBe("401 key_revoked");
  });
});

describe("a role Clerk changes", () => {
  it("to one that may not make keys revokes the person's keys; to one that may, revokes nothing", async () => {
    const o = await organization();
    expect(await outcome(membershipEvent("organizationMembership.updated", o.org, o.other, CLERK_ROLE.owner))).toBe("applied");
    expect(await outcome(membershipEvent("organizationMembership.updated", o.org, o.admin, CLERK_ROLE.member))).toBe("applied");
    expect([await roleOf(o.teamId, o.other), await roleOf(o.teamId, o.admin)]).toEqual(["owner", "member"]);
    expect(await answer(o.adminKey.key)).toBe("401 key_revoked");
    expect([await answer(o.ownerKey.key), await answer(o.otherKey.key)]).toEqual(["200", "200"]);
    expect((await auditOf(o.teamId)).map((e) => [e.action, e.target, e.detail])).toEqual([
      ["member.role_changed", o.other.id, { email: o.other.email, role: "owner", from: "admin", keysRevoked: [] }],
      ["member.role_changed", o.admin.id, { email: o.admin.email, role: "member", from: "admin", keysRevoked: [o.adminKey.view.id] }],
      ["api_key.revoked", o.adminKey.view.id, { reason: "role_changed", maker: o.admin.id }],
    ]);
    // A session token issued before the demotion does not make them an admin again.
    await syncClerkOrganization(services(), o.admin, { org: { id: o.org, name: "acme", role: "admin" }, issuedAt: Date.now() - 30_000 });
    expect(await roleOf(o.teamId, o.admin)).toBe("member");
  });

  it("seen first in the person's session token revokes their keys too", async () => {
    const o = await organization();
    await syncClerkOrganization(services(), o.admin, { org: { id: o.org, name: "acme", role: "member" } });
    expect(await answer(o.adminKey.key)).toBe("401 key_revoked");
    expect(await answer(o.otherKey.key)).toBe("200");
    expect((await auditOf(o.teamId)).map((e) => [e.action, e.target])).toEqual([
      ["member.role_changed", o.admin.id],
      ["api_key.revoked", o.adminKey.view.id],
    ]);
  });
});

describe("an organization or a user Clerk deletes", () => {
  it("ends the organization's memberships and revokes all its keys", async () => {
    const o = await organization();
    expect(await outcome({ type: "organization.deleted", object: "event", data: { object: "organization", id: o.org, deleted: true } })).toBe("applied");
    expect([await answer(o.ownerKey.key), await answer(o.adminKey.key), await answer(o.otherKey.key)]).toEqual(["401 key_revoked", "401 key_revoked", "401 key_revoked"]);
    expect(await db().select().from(members).where(eq(members.accountId, o.teamId))).toEqual([]);
    const revoked = (await auditOf(o.teamId)).filter((e) => e.action === "api_key.revoked");
    expect(revoked.map((e) => [e.target, e.detail?.reason]).sort()).toEqual([o.ownerKey, o.adminKey, o.otherKey].map((k) => [k.view.id, "organization_deleted"]).sort());
  });

  it("ends every membership of the user, their personal account's too, with their keys there", async () => {
    const o = await organization();
    const [personal] = await db().select({ accountId: members.accountId }).from(members).innerJoin(accounts, eq(accounts.id, members.accountId)).where(and(eq(members.userId, o.admin.id), eq(accounts.kind, "personal")));
    const personalKey = await createApiKey(services(), { accountId: personal!.accountId, actor: o.admin.id }, { name: "mine", mode: "live" });
    expect(await outcome({ type: "user.deleted", object: "event", data: { object: "user", id: o.admin.id, deleted: true } })).toBe("applied");
    expect([await answer(o.adminKey.key), await answer(personalKey.key), await answer(o.ownerKey.key)]).toEqual(["401 key_revoked", "401 key_revoked", "200"]);
    for (const [accountId, key] of [[o.teamId, o.adminKey], [personal!.accountId, personalKey]] as const) {
      expect((await auditOf(accountId)).filter((e) => e.action === "api_key.revoked").map((e) => [e.target, e.detail])).toEqual([[key.view.id, { reason: "user_deleted", maker: o.admin.id }]]);
    }
  });
});

describe("POST /webhooks/clerk", () => {
  it("refuses a forged, stale or unsigned delivery, and answers 503 without a signing secret", async () => {
    const o = await organization();
    const event = membershipEvent("organizationMembership.deleted", o.org, o.admin, CLERK_ROLE.admin);
    const forged = await deliver(event, { secret: `whsec_${btoa("somebody-else-entirely-0123456")}` });
    expect([forged.status, await errorCode(forged)]).toEqual([400, "webhook_signature_invalid"]);
    const stale = await deliver(event, { at: new Date(Date.now() - 10 * 60_000) });
    expect([stale.status, await errorCode(stale)]).toEqual([400, "webhook_timestamp_stale"]);
    const unsigned = await call("/webhooks/clerk", { method: "POST", body: JSON.stringify(event), env: withClerk });
    expect([unsigned.status, await errorCode(unsigned)]).toEqual([400, "webhook_signature_invalid"]);
    const off = await deliver(event, { bindings: env });
    expect([off.status, await errorCode(off)]).toEqual([503, "not_configured"]);
    // None of them changed anything.
    expect(await answer(o.adminKey.key)).toBe("200");
    expect(await auditOf(o.teamId)).toEqual([]);
  });

  it("ignores events it does not act on, and refuses a signed membership event it cannot read", async () => {
    expect(await outcome({ type: "user.created", object: "event", data: { object: "user", id: "user_new" } })).toBe("ignored");
    const unreadable = await deliver({ type: "organizationMembership.deleted", object: "event", data: { object: "organization_membership" } });
    expect([unreadable.status, await errorCode(unreadable)]).toEqual([400, "validation_failed"]);
    expect(await outcome(membershipEvent("organizationMembership.deleted", "org_nobody_here", await person("stranger"), CLERK_ROLE.member))).toBe("unchanged");
  });
});
