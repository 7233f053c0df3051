// Who may manage whom in a team, inside workerd against the real sqld: owners manage everyone,
// admins manage members and admins but never an owner, a team always keeps an owner, and each
// decision is taken by the write itself (a stale or raced view of the roles changes nothing).
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Role } from "../../core/roles.ts";
import { apiKeys, members } from "../../db/schema.ts";
import { API_ERRORS } from "../api/errors.ts";
import { serviceCode as code, testDb as db, testServices as services, seedPerson, viewerAs } from "../testing.ts";
import { createTeam, removeMember, setMember, type Person } from "./accounts.ts";
import { createApiKey, listApiKeys } from "./keys.ts";

const person = seedPerson;
const as = viewerAs;

async function roleOf(teamId: string, p: Person): Promise<Role | null> {
  const [row] = await db().select({ role: members.role }).from(members).where(and(eq(members.accountId, teamId), eq(members.userId, p.id)));
  return row?.role ?? null;
}

/** A team with an owner, an admin and a member. */
async function team() {
  const [owner, admin, member] = [await person("owner"), await person("admin"), await person("member")];
  const teamId = await createTeam(services(), await as(owner), { name: "Roles" });
  await setMember(services(), await as(owner, teamId), { email: admin.email, role: "admin" });
  await setMember(services(), await as(owner, teamId), { email: member.email, role: "member" });
  return { teamId, owner, admin, member };
}

describe("an admin", () => {
  it("cannot demote, re-add or remove an owner, nor make one", async () => {
    const { teamId, owner, admin, member } = await team();
    const asAdmin = await as(admin, teamId);
    expect(await code(setMember(services(), asAdmin, { email: owner.email, role: "member" }))).toBe("forbidden");
    expect(await code(setMember(services(), asAdmin, { email: owner.email.toUpperCase(), role: "admin" }))).toBe("forbidden");
    expect(await code(removeMember(services(), asAdmin, owner.id))).toBe("forbidden");
    expect(await code(setMember(services(), asAdmin, { email: member.email, role: "owner" }))).toBe("forbidden");
    expect(await roleOf(teamId, owner)).toBe("owner");
    expect(await roleOf(teamId, member)).toBe("member");
  });

  it("adds, re-roles and removes members and admins", async () => {
    const { teamId, admin, member } = await team();
    const other = await person("other");
    const asAdmin = await as(admin, teamId);
    await setMember(services(), asAdmin, { email: other.email, role: "admin" });
    await setMember(services(), asAdmin, { email: other.email, role: "member" });
    expect(await roleOf(teamId, other)).toBe("member");
    await removeMember(services(), asAdmin, member.id);
    await removeMember(services(), asAdmin, other.id);
    expect([await roleOf(teamId, member), await roleOf(teamId, other)]).toEqual([null, null]);
    expect(await code(removeMember(services(), asAdmin, member.id))).toBe("not_found");
  });

  it("whose view of the roles is stale gets nothing: the write checks the stored role", async () => {
    const { teamId, owner, admin, member } = await team();
    // The page was loaded while they were owner (or admin); they are admin (or member) now.
    const staleOwner = { ...(await as(admin, teamId)), account: { ...(await as(admin, teamId)).account, role: "owner" as const } };
    expect(await code(setMember(services(), staleOwner, { email: owner.email, role: "member" }))).toBe("forbidden");
    expect(await code(removeMember(services(), staleOwner, owner.id))).toBe("forbidden");
    const staleAdmin = await as(admin, teamId);
    await setMember(services(), await as(owner, teamId), { email: admin.email, role: "member" });
    expect(await code(removeMember(services(), staleAdmin, member.id))).toBe("forbidden");
    expect(await code(setMember(services(), staleAdmin, { email: "new@example.com", role: "member" }))).toBe("forbidden");
    expect([await roleOf(teamId, owner), await roleOf(teamId, member)]).toEqual(["owner", "member"]);
  });
});

describe("owners", () => {
  it("manage owners; the last owner can neither leave nor be removed", async () => {
    const { teamId, owner, admin } = await team();
    expect(await code(removeMember(services(), await as(owner, teamId), owner.id))).toBe("last_owner");
    await setMember(services(), await as(owner, teamId), { email: admin.email, role: "owner" });
    await setMember(services(), await as(admin, teamId), { email: owner.email, role: "member" }); // one owner demotes another
    expect(await roleOf(teamId, owner)).toBe("member");
    expect(await code(removeMember(services(), await as(admin, teamId), admin.id))).toBe("last_owner");
    expect(await code(setMember(services(), await as(admin, teamId), { email: admin.email, role: "member" }))).toBe("conflict"); // nobody re-roles themselves
    expect(await roleOf(teamId, admin)).toBe("owner");
    expect(API_ERRORS.last_owner).toBe(409);
  });

  it("who remove each other, or leave, at the same moment still leave the team one owner", async () => {
    for (const race of ["each other", "both leave"] as const) {
      const { teamId, owner, admin: second } = await team();
      await setMember(services(), await as(owner, teamId), { email: second.email, role: "owner" });
      const [a, b] = [await as(owner, teamId), await as(second, teamId)];
      const outcomes = await Promise.all(
        race === "each other" ? [code(removeMember(services(), a, second.id)), code(removeMember(services(), b, owner.id))] : [code(removeMember(services(), a, owner.id)), code(removeMember(services(), b, second.id))],
      );
      expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
      const owners = await db().select().from(members).where(and(eq(members.accountId, teamId), eq(members.role, "owner")));
      expect([race, owners.length]).toEqual([race, 1]);
    }
  });
});

describe("removing a member", () => {
  it("revokes the API keys they made in the team, and only those", async () => {
    const { teamId, owner, admin } = await team();
    const theirs = await createApiKey(services(), { accountId: teamId, actor: admin.id }, { name: "their integration", mode: "live" });
    const ours = await createApiKey(services(), { accountId: teamId, actor: owner.id }, { name: "our integration", mode: "live" });
    const elsewhere = await createApiKey(services(), await as(admin, ""), { name: "personal", mode: "live" });
    expect(await removeMember(services(), await as(owner, teamId), admin.id)).toEqual({ keysRevoked: [theirs.view.id] });
    const revoked = new Map((await listApiKeys(services(), { accountId: teamId, actor: owner.id })).map((k) => [k.id, k.revokedAt !== null]));
    expect([revoked.get(theirs.view.id), revoked.get(ours.view.id)]).toEqual([true, false]);
    const [personal] = await db().select().from(apiKeys).where(eq(apiKeys.id, elsewhere.view.id));
    expect(personal!.revokedAt).toBeNull();
  });

  it("is refused to members and in personal accounts", async () => {
    const { teamId, admin, member } = await team();
    expect(await code(removeMember(services(), await as(member, teamId), admin.id))).toBe("forbidden");
    expect(await code(removeMember(services(), await as(member, ""), member.id))).toBe("conflict");
  });
});
