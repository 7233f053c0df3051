// The team and keys pages' actions with the local sign-in, against a real sqld: an owner making an
// admin a member, or removing them, revokes the keys that admin made in the team (and says so);
// the keys page refuses a key past the account's cap.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppLoadContext } from "@remix-run/server-runtime";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDb } from "../../db/migrate.ts";
import { startSqld, type RunningSqld } from "../../db/sqld.ts";
import { auditLog } from "../../db/schema.ts";
import { ConfigSchema } from "../../edge/config.ts";
import { createEdgeDb } from "../../edge/db.ts";
import { createTeam, ensurePersonalAccount, localUserId, viewerFor, type Person } from "../../edge/identity/accounts.ts";
import { listApiKeys, MAX_ACTIVE_KEYS } from "../../edge/identity/keys.ts";
import { accountCookie, startSession } from "../../edge/identity/session.ts";
import { action as keysAction } from "./keys.tsx";
import { action as teamAction } from "./team.tsx";

let sqld: RunningSqld;
let dataDir: string;
let context: AppLoadContext;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "mxray-team-"));
  sqld = await startSqld({ dataDir });
  await migrateDb(sqld.url);
  const env = {
    MXRAY_MODE: "local",
    TURSO_DATABASE_URL: sqld.url,
    PROBE_SECRET: "probe-secret-for-the-team-test-0123",
    SESSION_SECRET: "session-secret-for-the-team-test-0123",
    // Required by the config; these actions build no Redis-backed service.
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
    UPSTASH_REDIS_REST_TOKEN: "unused",
    MXRAY_ENCRYPTION_KEYS: `t1:${btoa("mxray test encryption key, no. 1")}`,
  };
  const config = ConfigSchema.parse(env);
  const request = { ip: "127.0.0.1", userAgent: "team.test", requestId: "req_team_test" };
  context = { cloudflare: { env: env as unknown as Env, ctx: { waitUntil: () => {} } }, services: { config, db: createEdgeDb(config), request } } as unknown as AppLoadContext;
}, 60_000);

afterAll(async () => {
  await sqld?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const db = () => context.services.db;
let n = 0;

async function person(name: string): Promise<Person> {
  const email = `${name}.${++n}@example.com`;
  const p = { id: await localUserId(email), email };
  await ensurePersonalAccount(context.services, p, { signupCredits: 0 });
  return p;
}

/** The cookies of `p` signed in and acting in `teamId`. */
async function cookiesOf(p: Person, teamId: string): Promise<string> {
  const session = await startSession(context.services, p, { secure: false });
  const account = await accountCookie(context.services, { accountId: teamId, actor: p.id }, { secure: false });
  return `${session.split(";")[0]}; ${account.split(";")[0]}`;
}

/** Posts a form to a page's action, as the browser does, with a load context of its own. */
async function post(act: typeof teamAction | typeof keysAction, path: string, cookie: string, fields: Record<string, string>) {
  const request = new Request(`http://127.0.0.1:8787${path}`, { method: "POST", body: new URLSearchParams(fields), headers: { cookie, "content-type": "application/x-www-form-urlencoded" } });
  return (await act({ request, context: { ...context }, params: {} } as Parameters<typeof teamAction>[0])) as Record<string, unknown>;
}

async function teamWithAdmin() {
  const [owner, admin] = [await person("owner"), await person("admin")];
  const teamId = await createTeam(context.services, (await viewerFor(context.services, owner, { preferred: null }))!, { name: "Growth" });
  const asOwner = await cookiesOf(owner, teamId);
  expect(await post(teamAction, "/team", asOwner, { intent: "add-member", email: admin.email, role: "admin" })).toMatchObject({ ok: expect.stringContaining("is now an admin") });
  const made = (await post(keysAction, "/keys", await cookiesOf(admin, teamId), { intent: "create", name: "their integration", mode: "live" })) as { created: { key: string } };
  const mine = (await post(keysAction, "/keys", asOwner, { intent: "create", name: "our integration", mode: "live" })) as { created: { key: string } };
  expect([made.created.key, mine.created.key]).toEqual([expect.stringMatching(/^mx_live_/), expect.stringMatching(/^mx_live_/)]);
  return { owner, admin, teamId, asOwner };
}

const active = async (teamId: string) => (await listApiKeys(context.services, { accountId: teamId, actor: "team.test" })).filter((k) => k.revokedAt === null).map((k) => k.name).sort();

describe("the team page", () => {
  it("making an admin a member revokes the keys they made here, says so, and audits it", async () => {
    const { admin, teamId, asOwner } = await teamWithAdmin();
    const answer = await post(teamAction, "/team", asOwner, { intent: "set-role", email: admin.email, role: "member" });
    expect(answer).toEqual({ ok: `${admin.email} is now a member of Growth. The API key they made here was revoked.` });
    expect(await active(teamId)).toEqual(["our integration"]);
    const revoked = await db().select().from(auditLog).where(and(eq(auditLog.accountId, teamId), eq(auditLog.action, "api_key.revoked")));
    expect(revoked.map((e) => [JSON.parse(e.detail!).reason, e.requestId])).toEqual([["role_changed", "req_team_test"]]);
  });

  it("removing an admin revokes the keys they made here, and says so", async () => {
    const { admin, teamId, asOwner } = await teamWithAdmin();
    const answer = await post(teamAction, "/team", asOwner, { intent: "remove-member", userId: admin.id, email: admin.email });
    expect(answer).toEqual({ ok: `${admin.email} was removed from Growth. The API key they made here was revoked.` });
    expect(await active(teamId)).toEqual(["our integration"]);
  });
});

describe("the keys page", () => {
  it(`refuses a key past the account's ${MAX_ACTIVE_KEYS}`, async () => {
    const { teamId, asOwner } = await teamWithAdmin();
    for (let i = (await active(teamId)).length; i < MAX_ACTIVE_KEYS; i++) await post(keysAction, "/keys", asOwner, { intent: "create", name: `key ${i}`, mode: "test" });
    const over = await post(keysAction, "/keys", asOwner, { intent: "create", name: "one too many", mode: "test" });
    expect(over).toEqual({ error: { code: "conflict", message: expect.stringContaining(`${MAX_ACTIVE_KEYS} active API keys`) } });
    expect(await active(teamId)).toHaveLength(MAX_ACTIVE_KEYS);
  });
});
