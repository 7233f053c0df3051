// Who may manage whom in a team, inside workerd against the real sqld: owners manage everyone,
// admins manage members and admins but never an owner, a team always keeps an owner, and each
// decision is taken by the write itself (a stale or raced view of the roles changes nothing).
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Role } from "../../core/roles.ts";
import { apiKeys, members } from "../../db/schema.ts";
import { API_ERRORS } from "../api/errors.ts";
import { serviceCode as code, testDb as db, seedPerson, viewerAs } from "../testing.ts";
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
  const teamId = await createTeam(db(), owner, "Roles");
  await setMember(db(), await as(owner, teamId), admin.email, "admin");
  await setMember(db(), await as(owner, teamId), member.email, "member");
  return { teamId, owner, admin, member };
}

describe("an admin", () => {
  it("cannot demote, re-add or remove an owner, nor make one", async () => {
    const { teamId, owner, admin, member } = await team();
    const asAdmin = await as(admin, teamId);
    expect(await code(setMember(db(), asAdmin, owner.email, "member"))).toBe("forbidden");
    expect(await code(setMember(db(), asAdmin, owner.email.toUpperCase(), "admin"))).toBe("forbidden");
    expect(await code(removeMember(db(), asAdmin, owner.id))).toBe("forbidden");
    expect(await code(setMember(db(), asAdmin, member.email, "owner"))).toBe("forbidden");
    expect(await roleOf(teamId, owner)).toBe("owner");
    expect(await roleOf(teamId, member)).toBe("member");
  });

  it("adds, re-roles and removes members and admins", async () => {
    const { teamId, admin, member } = await team();
    const other = await person("other");
    const asAdmin = await as(admin, teamId);
    await setMember(db(), asAdmin, other.email, "admin");
    await setMember(db(), asAdmin, other.email, "member");
    expect(await roleOf(teamId, other)).toBe("member");
    await removeMember(db(), asAdmin, member.id);
    await removeMember(db(), asAdmin, other.id);
    expect([await roleOf(teamId, member), await roleOf(teamId, other)]).toEqual([null, null]);
    expect(await code(removeMember(db(), asAdmin, member.id))).toBe("not_found");
  });

  it("whose view of the roles is stale gets nothing: the write checks the stored role", async () => {
    const { teamId, owner, admin, member } = await team();
    // The page was loaded while they were owner (or admin); they are admin (or member) now.
    const staleOwner = { ...(await as(admin, teamId)), account: { ...(await as(admin, teamId)).account, role: "owner" as const } };
    expect(await code(setMember(db(), staleOwner, owner.email, "member"))).toBe("forbidden");
    expect(await code(removeMember(db(), staleOwner, owner.id))).toBe("forbidden");
    const staleAdmin = await as(admin, teamId);
    await setMember(db(), await as(owner, teamId), admin.email, "member");
    expect(await code(removeMember(db(), staleAdmin, member.id))).toBe("forbidden");
    expect(await code(setMember(db(), staleAdmin, "new@example.com", "member"))).toBe("forbidden");
    expect([await roleOf(teamId, owner), await roleOf(teamId, member)]).toEqual(["owner", "member"]);
  });
});

describe("owners", () => {
  it("manage owners; the last owner can neither leave nor be removed", async () => {
    const { teamId, owner, admin } = await team();
    expect(await code(removeMember(db(), await as(owner, teamId), owner.id))).toBe("last_owner");
    await setMember(db(), await as(owner, teamId), admin.email, "owner");
    await setMember(db(), await as(admin, teamId), owner.email, "member"); // one owner demotes another
    expect(await roleOf(teamId, owner)).toBe("member");
    expect(await code(removeMember(db(), await as(admin, teamId), admin.id))).toBe("last_owner");
    expect(await code(setMember(db(), await as(admin, teamId), admin.email, "member"))).toBe("conflict"); // nobody re-roles themselves
    expect(await roleOf(teamId, admin)).toBe("owner");
    expect(API_ERRORS.last_owner).toBe(409);
  });

  it("who remove each other, or leave, at the same moment still leave the team one owner", async () => {
    for (const race of ["each other", "both leave"] as const) {
      const { teamId, owner, admin: second } = await team();
      await setMember(db(), await as(owner, teamId), second.email, "owner");
      const [a, b] = [await as(owner, teamId), await as(second, teamId)];
      const outcomes = await Promise.all(
        race === "each other" ? [code(removeMember(db(), a, second.id)), code(removeMember(db(), b, owner.id))] : [code(removeMember(db(), a, owner.id)), code(removeMember(db(), b, second.id))],
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
    const theirs = await createApiKey(db(), teamId, admin.id, "their integration", "live");
    const ours = await createApiKey(db(), teamId, owner.id, "our integration", "live");
    const elsewhere = await createApiKey(db(), (await as(admin, "")).account.id, admin.id, "personal", "live");
    expect(await removeMember(db(), await as(owner, teamId), admin.id)).toEqual({ keysRevoked: [theirs.view.id] });
    const revoked = new Map((await listApiKeys(db(), teamId)).map((k) => [k.id, k.revokedAt !== null]));
    expect([revoked.get(theirs.view.id), revoked.get(ours.view.id)]).toEqual([true, false]);
    const [personal] = await db().select().from(apiKeys).where(eq(apiKeys.id, elsewhere.view.id));
    expect(personal!.revokedAt).toBeNull();
  });

  it("is refused to members and in personal accounts", async () => {
    const { teamId, admin, member } = await team();
    expect(await code(removeMember(db(), await as(member, teamId), admin.id))).toBe("forbidden");
    expect(await code(removeMember(db(), await as(member, ""), member.id))).toBe("conflict");
  });
});
