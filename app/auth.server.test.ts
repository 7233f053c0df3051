// The Clerk path of sign-in, offline: session tokens minted here with a local RS256 key, verified
// by @clerk/remix against CLERK_JWT_KEY (no network), and turned into the same Viewer the local
// sign-in gives, with the Clerk organization as a team account and the role Clerk says.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppLoadContext } from "@remix-run/server-runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDb } from "../db/migrate.ts";
import { startSqld, type RunningSqld } from "../db/sqld.ts";
import { ConfigSchema } from "../edge/config.ts";
import { createEdgeDb } from "../edge/db.ts";
import { endClerkMembership } from "../edge/identity/clerk.ts";
import { accountCookie, startSession } from "../edge/identity/session.ts";
import { and, eq } from "drizzle-orm";
import { accounts, auditLog } from "../db/schema.ts";
import { ACCOUNT_DISABLED_PATH, clerkSignInUrl, getViewer, requireSignedIn, requireViewer } from "./auth.server.ts";

const FRONTEND_API = "clerk.mxray.test";
const PUBLISHABLE = `pk_live_${Buffer.from(`${FRONTEND_API}$`).toString("base64")}`;
const PROBE_SECRET = "probe-secret-for-the-clerk-test-0123";

let sqld: RunningSqld;
let dataDir: string;
let context: AppLoadContext;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

async function rsaPair() {
  return crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"]);
}

async function sessionToken(claims: Record<string, unknown>, key = signingKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "ins_test" }));
  const body = b64url(JSON.stringify({ iss: `https://${FRONTEND_API}`, sid: "sess_test", iat: now - 5, nbf: now - 5, exp: now + 60, ...claims }));
  const sig = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(`${header}.${body}`)));
  return `${header}.${body}.${b64url(sig)}`;
}

/** A page load with Clerk's cookies: the session token and the client's last sign-in time. */
function pageRequest(cookie: string, clientUat = Math.floor(Date.now() / 1000) - 10) {
  return new Request("http://127.0.0.1:8787/dashboard", { headers: { cookie: `${cookie}; __client_uat=${clientUat}`, "sec-fetch-dest": "document", accept: "text/html" } });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "mxray-clerk-"));
  sqld = await startSqld({ dataDir });
  await migrateDb(sqld.url);
  const pair = await rsaPair();
  signingKey = pair.privateKey;
  strangerKey = (await rsaPair()).privateKey;
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", pair.publicKey)).toString("base64");
  const env = {
    TURSO_DATABASE_URL: sqld.url,
    PROBE_SECRET,
    SESSION_SECRET: "session-secret-for-the-clerk-test-0123",
    MXRAY_ENCRYPTION_KEYS: `t1:${btoa("mxray test encryption key, no. 1")}`,
    CLERK_SECRET_KEY: "sk_live_offline_test_key",
    CLERK_PUBLISHABLE_KEY: PUBLISHABLE,
    CLERK_JWT_KEY: `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----`,
    MXRAY_SIGNUP_CREDITS: "250",
    // Required by the config; these tests build no Redis-backed service.
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
    UPSTASH_REDIS_REST_TOKEN: "unused",
  };
  const config = ConfigSchema.parse(env);
  context = { cloudflare: { env: env as unknown as Env, ctx: { waitUntil: () => {} } }, services: { config, db: createEdgeDb(config) } } as unknown as AppLoadContext;
}, 60_000);

afterAll(async () => {
  await sqld?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("sign-in through Clerk", () => {
  it("turns a genuine session token into a viewer with a personal account and its sign-up credits", async () => {
    const token = await sessionToken({ sub: "user_ada", email: "ada@example.com" });
    const viewer = await getViewer({ request: pageRequest(`__session=${token}`), context: fresh() });
    expect(viewer).toMatchObject({
      user: { id: "user_ada", email: "ada@example.com" },
      account: { kind: "personal", role: "owner", creditBalance: 250 },
      accounts: [{ kind: "personal" }],
    });
    // Signing in again finds the same account and grants nothing twice.
    const again = await getViewer({ request: pageRequest(`__session=${token}`), context: fresh() });
    expect(again!.account).toEqual(viewer!.account);
  });

  it("makes the active organization a team account with the role Clerk gives, and follows role changes", async () => {
    const admin = await sessionToken({ sub: "user_grace", org_id: "org_acme", org_role: "org:admin", org_slug: "acme" });
    const viewer = await getViewer({ request: pageRequest(`__session=${admin}; mxray_account=unknown`), context: fresh() });
    const team = viewer!.accounts.find((a) => a.kind === "team");
    expect(team).toMatchObject({ name: "acme", role: "admin" });
    // The account switcher's cookie, signed for this person.
    const inTeamCookie = (await accountCookie(context.services, { accountId: team!.id, actor: "user_grace" }, { secure: false })).split(";")[0]!;
    const inTeam = await getViewer({ request: pageRequest(`__session=${admin}; ${inTeamCookie}`), context: fresh() });
    expect(inTeam!.account).toMatchObject({ id: team!.id, role: "admin", kind: "team" });

    const demoted = await sessionToken({ sub: "user_grace", org_id: "org_acme", org_role: "org:member", org_slug: "acme" });
    const after = await getViewer({ request: pageRequest(`__session=${demoted}; ${inTeamCookie}`), context: fresh() });
    expect(after!.account).toMatchObject({ id: team!.id, role: "member" });

    // Without the organization active (or after leaving it in Clerk), the team is out of reach.
    const personal = await sessionToken({ sub: "user_grace" });
    const outside = await getViewer({ request: pageRequest(`__session=${personal}; ${inTeamCookie}`), context: fresh() });
    expect(outside!.account.kind).toBe("personal");
    expect(outside!.accounts.map((a) => a.id)).not.toContain(team!.id);
  });

  it("does not let a session token issued before Clerk's webhook removed the person bring them back", async () => {
    const token = await sessionToken({ sub: "user_gone", org_id: "org_leaving", org_role: "org:admin", org_slug: "leaving" });
    const before = await getViewer({ request: pageRequest(`__session=${token}`), context: fresh() });
    expect(before!.accounts.map((a) => a.kind)).toEqual(["personal", "team"]);
    await endClerkMembership({ db: context.services.db, request: { ip: null, userAgent: null, requestId: "msg_test" } }, { orgId: "org_leaving", userId: "user_gone" });
    const after = await getViewer({ request: pageRequest(`__session=${token}`), context: fresh() });
    expect(after!.accounts.map((a) => a.kind)).toEqual(["personal"]);
  });

  it("refuses a token signed by another key, and an expired token without a session", async () => {
    const forged = await sessionToken({ sub: "user_mallory" }, strangerKey);
    expect(signedOutOrHandshake(await getViewerOrRedirect(`__session=${forged}`))).toBe(true);
    const expired = await sessionToken({ sub: "user_ada", exp: Math.floor(Date.now() / 1000) - 120 });
    // An expired token of a signed-in client is refreshed through Clerk's handshake redirect.
    expect(signedOutOrHandshake(await getViewerOrRedirect(`__session=${expired}`))).toBe(true);
  });

  it("does not accept the local sign-in's cookie when Clerk is configured", async () => {
    const local = await startSession(context.services, { id: "usr_local", email: "eve@example.com" }, { secure: false });
    expect(await getViewer({ request: pageRequest(local.split(";")[0]!, 0), context: fresh() })).toBeNull();
  });

  it("audits a session's sign-in once, and names an operator by the public metadata in the token", async () => {
    const token = await sessionToken({ sub: "user_op", email: "op@example.com", sid: "sess_op", metadata: { role: "operator" } });
    const viewer = await getViewer({ request: pageRequest(`__session=${token}`), context: fresh() });
    await getViewer({ request: pageRequest(`__session=${token}`), context: fresh() });
    expect(viewer!.operator).toBe(true);
    const signIns = await context.services.db.select().from(auditLog).where(and(eq(auditLog.accountId, viewer!.account.id), eq(auditLog.action, "sign_in.succeeded")));
    expect(signIns.map((e) => [e.actor, e.target])).toEqual([["user_op", "sess_op"]]);
    const plain = await sessionToken({ sub: "user_plain", sid: "sess_plain" });
    expect((await getViewer({ request: pageRequest(`__session=${plain}`), context: fresh() }))!.operator).toBe(false);
  });

  it("sends a member of a disabled account to the page saying why, and only there", async () => {
    const token = await sessionToken({ sub: "user_off", sid: "sess_off" });
    const viewer = await getViewer({ request: pageRequest(`__session=${token}`), context: fresh() });
    await context.services.db.update(accounts).set({ disabledAt: Date.now(), disabledReason: "chargebacks" }).where(eq(accounts.id, viewer!.account.id));
    const args = () => ({ request: pageRequest(`__session=${token}`), context: fresh() });
    const refused = await requireViewer(args()).then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(Response);
    expect((refused as Response).headers.get("location")).toBe(ACCOUNT_DISABLED_PATH);
    expect((await requireSignedIn(args())).account.disabledReason).toBe("chargebacks");
  });

  it("sends signed-out people to the instance's hosted sign-in page", () => {
    expect(clerkSignInUrl(fresh(), "http://127.0.0.1:8787/dashboard")).toBe(
      "https://accounts.mxray.test/sign-in?redirect_url=http%3A%2F%2F127.0.0.1%3A8787%2Fdashboard",
    );
  });
});

/** A load context per request, as the Worker makes one (the viewer is kept per context). */
const fresh = () => ({ ...context });

const signedOutOrHandshake = (r: unknown) => r === null || (r instanceof Response && r.status === 307 && r.headers.get("x-clerk-auth-status") === "handshake");

/** The viewer, or the handshake redirect Clerk answers with (as a Response). */
async function getViewerOrRedirect(cookie: string) {
  try {
    return await getViewer({ request: pageRequest(cookie), context: fresh() });
  } catch (e) {
    if (e instanceof Response) return e;
    throw e;
  }
}
