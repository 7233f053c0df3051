// Security cases of signing in, inside workerd against the real sqld: where the sign-in may send
// people afterwards, where the local sign-in answers at all, which session cookies are believed,
// and whether a live token outlives what minted it.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { signToken } from "../../core/signedtoken.ts";
import { apiKeys, sessions } from "../../db/schema.ts";
import { ConfigSchema, loadConfig, type Config } from "../config.ts";
import { createTeam, ensurePersonalAccount, localUserId, removeMember, setMember, viewerFor, type Person } from "../identity/accounts.ts";
import { checkLiveToken, mintLiveToken } from "../identity/livetoken.ts";
import { accountCookie, endSession, preferredAccount, purgeExpiredSessions, readSession, SESSION_PURGE_ROWS, SESSION_TTL_MS, startSession } from "../identity/session.ts";
import { isLoopbackHost, localSignInAllowed, safeNext } from "../identity/signin.ts";
import { call, errorCode, seedAccount, seedJobWithBatch, testDb as db, testServices as services } from "../testing.ts";

const ORIGIN = "http://127.0.0.1:8787";
const config = (): Config => loadConfig(env);
const configWith = (vars: Record<string, string | undefined>): Config => ConfigSchema.parse({ ...env, ...vars });

async function person(name: string): Promise<Person> {
  const email = `${name}.${newId("req").slice(4, 12)}@example.com`;
  return { id: await localUserId(email), email };
}

/** The cookie header a browser sends back for a Set-Cookie. */
const sent = (setCookie: string) => setCookie.split(";")[0]!;

describe("after signing in, the sign-in goes back only to a path of this origin", () => {
  it.each([
    "/%09/evil.com",
    "/%09/%09/evil.com",
    "/\t/evil.com",
    "/%0a/evil.com",
    "/%0d/evil.com",
    "/%0D%0A/evil.com",
    "/%20/evil.com",
    "/ /evil.com",
    "/%250a/evil.com",
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "/\\/evil.com",
    "\\\\evil.com",
    "/%5Cevil.com",
    "/%5c%5cevil.com",
    "/%2F/evil.com",
    "/%2f%2fevil.com",
    "/.//evil.com",
    "/%2e//evil.com",
    "/%2e%2e//evil.com",
    "/a/..//evil.com",
    "https://evil.com",
    "http:evil.com",
    "https:/evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "/javascript:alert(1)\u0000",
    "data:text/html,<script>alert(1)</script>",
    "evil.com",
    "@evil.com",
    "/\u3000/evil.com",
    "/\u2028/evil.com",
    "/%E3%80%80/evil.com",
    "/%",
    "",
  ])("refuses %j", (next) => {
    expect(safeNext(next, ORIGIN)).toBe("/dashboard");
  });

  it("keeps a path of this origin with its query and fragment", () => {
    expect(safeNext("/jobs/job_abc?verdict=risky&page=2#results", ORIGIN)).toBe("/jobs/job_abc?verdict=risky&page=2#results");
    expect(safeNext("/team", ORIGIN, "/")).toBe("/team");
    expect(safeNext(null, ORIGIN)).toBe("/dashboard");
    // Dot segments that stay on the origin are resolved, not refused.
    expect(safeNext("/a/../keys", ORIGIN)).toBe("/keys");
  });
});

describe("the local sign-in answers only on a stack running on this machine", () => {
  it("decides by the exact host: localhost, [::1] and 127.0.0.0/8, never a name that starts like one", () => {
    for (const host of ["localhost", "[::1]", "127.0.0.1", "127.5.6.7", "127.255.255.255"]) expect([host, isLoopbackHost(host)]).toEqual([host, true]);
    for (const host of ["127.0.0.1.attacker.tld", "127.attacker.tld", "localhost.attacker.tld", "attacker.localhost.tld", "128.0.0.1", "10.0.0.1", "127.0.0.256", "0.0.0.0", "[::2]", "127.0.0.1.nip.io"]) {
      expect([host, isLoopbackHost(host)]).toEqual([host, false]);
    }
  });

  it("answers a loopback URL in local mode (other spellings of 127.0.0.1 included), refuses a rebinding name", () => {
    const local = configWith({ MXRAY_MODE: "local" });
    for (const url of ["http://127.0.0.1:8787/sign-in", "http://localhost:8787/sign-in", "http://[::1]:8787/sign-in", "http://127.1:8787/sign-in", "http://0x7f.0.0.1/sign-in"]) {
      expect([url, localSignInAllowed(url, local)]).toEqual([url, true]);
    }
    for (const url of ["http://127.0.0.1.attacker.tld:8787/sign-in", "http://localhost.attacker.tld/sign-in", "https://mxray.example.com/sign-in"]) {
      expect([url, localSignInAllowed(url, local)]).toEqual([url, false]);
    }
  });

  it("never answers in a deployment, even to Host: 127.0.0.1 from a proxy, nor with MXRAY_LOCAL_SIGNIN=allow", () => {
    const deployed = configWith({ MXRAY_MODE: undefined });
    expect(localSignInAllowed("http://127.0.0.1/sign-in", deployed)).toBe(false);
    expect(localSignInAllowed("http://localhost/sign-in", configWith({ MXRAY_MODE: "production", MXRAY_LOCAL_SIGNIN: "allow" }))).toBe(false);
    // In local mode, "allow" widens the host check (a private test instance reached by name).
    expect(localSignInAllowed("https://test-box.internal/sign-in", configWith({ MXRAY_MODE: "local", MXRAY_LOCAL_SIGNIN: "allow" }))).toBe(true);
  });
});

describe("session cookies", () => {
  it("name the person while their row is live, and are HttpOnly, SameSite=Lax, Secure on https", async () => {
    const ada = await person("ada");
    const cookie = await startSession(services(), ada, { secure: true }, 1_000);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Secure/);
    expect((await startSession(services(), ada, { secure: false }, 1_000)).includes("Secure")).toBe(false);
    const session = await readSession(services(), `other=1; ${sent(cookie)}`, 1_001);
    expect(session?.person).toEqual(ada);
    expect(await readSession(services(), sent(cookie), 1_000 + SESSION_TTL_MS)).toBeNull();
    expect(await readSession(services(), "mxray_session=garbage", 1_001)).toBeNull();
  });

  it("refuses a cookie signed with PROBE_SECRET (which every probe host holds), even naming a live session", async () => {
    const ada = await person("ada");
    const genuine = await startSession(services(), ada, { secure: false }, 1_000);
    const [row] = await db().select().from(sessions).where(eq(sessions.userId, ada.id));
    const mallory = { s: row!.id, u: ada.id, m: ada.email, e: 1_000 + SESSION_TTL_MS };
    for (const secret of [env.PROBE_SECRET, "another-secret-0123456789"]) {
      const forged = await signToken(secret, "session", mallory);
      expect(await readSession(services(), `mxray_session=${encodeURIComponent(forged)}`, 1_001)).toBeNull();
    }
    expect(await readSession(services(), sent(genuine), 1_001)).not.toBeNull();
  });

  it("refuses a cookie whose person was changed", async () => {
    const ada = await person("ada");
    const [payload, sig] = decodeURIComponent(sent(await startSession(services(), ada, { secure: false }, 1_000)).split("=")[1]!).split(".");
    const claims = JSON.parse(atob(payload!.replace(/-/g, "+").replace(/_/g, "/"))) as { u: string };
    claims.u = "usr_someone_else";
    const forged = btoa(JSON.stringify(claims)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect(await readSession(services(), `mxray_session=${forged}.${sig}`, 1_001)).toBeNull();
  });

  it("made before a rotation still work with the previous secret, and stop when it is dropped", async () => {
    const ada = await person("ada");
    const current = config();
    const previous = current.SESSION_SECRET_PREVIOUS!.split(",").at(-1)!.trim();
    const before = await startSession({ db: db(), config: configWith({ SESSION_SECRET: previous, SESSION_SECRET_PREVIOUS: undefined }) }, ada, { secure: false }, 1_000);
    expect((await readSession({ db: db(), config: current }, sent(before), 1_001))?.person).toEqual(ada);
    expect(await readSession({ db: db(), config: configWith({ SESSION_SECRET_PREVIOUS: undefined }) }, sent(before), 1_001)).toBeNull();
    // New cookies are signed with the new secret.
    const after = await startSession({ db: db(), config: current }, ada, { secure: false }, 1_000);
    expect(await readSession({ db: db(), config: configWith({ SESSION_SECRET: previous, SESSION_SECRET_PREVIOUS: undefined }) }, sent(after), 1_001)).toBeNull();
  });

  it("are refused after signing out, copies included; the person's other sessions go on", async () => {
    const ada = await person("ada");
    const laptop = sent(await startSession(services(), ada, { secure: false }, 1_000));
    const phone = sent(await startSession(services(), ada, { secure: false }, 1_000));
    await endSession(services(), laptop, 2_000);
    expect(await readSession(services(), laptop, 2_001)).toBeNull();
    expect(await readSession(services(), phone, 2_001)).not.toBeNull();
  });

  it("are purged by the sweeper once expired, a bounded step at a time", async () => {
    const now = 9_000_000_000_000; // after every other test's sessions
    const userId = `usr_${newId("req")}`;
    const expired = Array.from({ length: SESSION_PURGE_ROWS + 5 }, () => ({ id: newId("ses"), userId, createdAt: now - 10, expiresAt: now - 1 }));
    for (let i = 0; i < expired.length; i += 200) await db().insert(sessions).values(expired.slice(i, i + 200));
    const live = newId("ses");
    await db().insert(sessions).values({ id: live, userId, createdAt: now, expiresAt: now + SESSION_TTL_MS });
    expect(await purgeExpiredSessions(services(), now, 1)).toBe(SESSION_PURGE_ROWS);
    expect(await purgeExpiredSessions(services(), now)).toBeGreaterThanOrEqual(5);
    expect((await db().select().from(sessions).where(eq(sessions.userId, userId))).map((s) => s.id)).toEqual([live]);
  });
});

describe("the account-preference cookie", () => {
  it("is believed only when signed for the person now signed in", async () => {
    const ada = await person("ada");
    const bob = await person("bob");
    const mine = sent(await accountCookie(services(), { accountId: "acc_team", actor: ada.id }, { secure: false }));
    expect(await preferredAccount(services(), ada.id, mine)).toBe("acc_team");
    expect(await preferredAccount(services(), bob.id, mine)).toBeNull(); // planted from another person's browser
    expect(await preferredAccount(services(), ada.id, "mxray_account=acc_team")).toBeNull(); // planted unsigned
    const byProbe = await signToken(env.PROBE_SECRET, "account", { u: ada.id, a: "acc_team" });
    expect(await preferredAccount(services(), ada.id, `mxray_account=${encodeURIComponent(byProbe)}`)).toBeNull();
  });
});

describe("the dev API key", () => {
  it("is a key only in local mode, never in a deployment that happens to set it", async () => {
    const devKey = env.MXRAY_DEV_API_KEY!;
    expect((await call("/api/v1/account", { key: devKey, env: { ...env } })).status).toBe(200);
    const deployed = await call("/api/v1/account", { key: devKey, env: { ...env, MXRAY_MODE: "production" } });
    expect([deployed.status, await errorCode(deployed)]).toEqual([401, "unauthorized"]);
  });
});

describe("live tokens", () => {
  const ws = (jobId: string, token: string) => call(`/ws/jobs/${jobId}?token=${encodeURIComponent(token)}`, { headers: { upgrade: "websocket" } });

  async function opened(res: Response): Promise<number> {
    res.webSocket?.accept();
    res.webSocket?.close();
    return res.status;
  }

  it("minted with an API key stop opening the socket once the key is revoked", async () => {
    const { accountId, key, keyId } = await seedAccount();
    const { jobId } = await seedJobWithBatch(accountId, ["a@x.test"]);
    const minted = (await (await call(`/api/v1/jobs/${jobId}/live-token`, { method: "POST", key })).json()) as { token: string };
    expect(await opened(await ws(jobId, minted.token))).toBe(101);
    await db().update(apiKeys).set({ revokedAt: Date.now() }).where(eq(apiKeys.id, keyId));
    const refused = await ws(jobId, minted.token);
    expect([refused.status, await errorCode(refused)]).toEqual([401, "unauthorized"]);
  });

  it("minted by a session stop once it signs out or its person leaves the team", async () => {
    const ada = await person("ada");
    const owner = await person("owner");
    for (const p of [ada, owner]) await ensurePersonalAccount(services(), p, { signupCredits: 0 });
    const teamId = await createTeam(services(), (await viewerFor(services(), owner, { preferred: null }))!, { name: "Live" });
    await setMember(services(), (await viewerFor(services(), owner, { preferred: teamId }))!, { email: ada.email, role: "member" });
    const { jobId } = await seedJobWithBatch(teamId, ["a@x.test"]);
    const cookie = sent(await startSession(services(), ada, { secure: false }));
    const { sessionId } = (await readSession(services(), cookie))!;
    const token = (await mintLiveToken(services(), { accountId: teamId, actor: ada.id }, { jobId, holder: { session: sessionId } })).token;
    expect(await checkLiveToken(services(), token, jobId)).toBe(teamId);

    await removeMember(services(), (await viewerFor(services(), owner, { preferred: teamId }))!, ada.id);
    expect(await checkLiveToken(services(), token, jobId)).toBeNull();
    await setMember(services(), (await viewerFor(services(), owner, { preferred: teamId }))!, { email: ada.email, role: "member" });
    expect(await checkLiveToken(services(), token, jobId)).toBe(teamId);
    await endSession(services(), cookie);
    expect(await checkLiveToken(services(), token, jobId)).toBeNull();
    expect(await opened(await ws(jobId, token))).toBe(401);
  });

  it("are refused when signed with PROBE_SECRET, and accepted from before a rotation", async () => {
    const { accountId, keyId } = await seedAccount();
    const { jobId } = await seedJobWithBatch(accountId, ["a@x.test"]);
    const byProbe = (await mintLiveToken({ config: configWith({ SESSION_SECRET: env.PROBE_SECRET }) }, { accountId, actor: keyId }, { jobId, holder: { key: keyId } })).token;
    expect(await checkLiveToken(services(), byProbe, jobId)).toBeNull();
    const previous = config().SESSION_SECRET_PREVIOUS!.split(",").at(-1)!.trim();
    const beforeRotation = (await mintLiveToken({ config: configWith({ SESSION_SECRET: previous }) }, { accountId, actor: keyId }, { jobId, holder: { key: keyId } })).token;
    expect(await checkLiveToken(services(), beforeRotation, jobId)).toBe(accountId);
    // A token of one account's key does not open another account's job.
    const other = await seedAccount();
    const crossed = (await mintLiveToken(services(), { accountId, actor: other.keyId }, { jobId, holder: { key: other.keyId } })).token;
    expect(await checkLiveToken(services(), crossed, jobId)).toBeNull();
  });
});
