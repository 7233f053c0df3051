// What the pages' own tests share: a real sqld, a load context as the Worker builds it (no probe
// online; counters in memory instead of Redis), people signed in with the local sign-in, and a page's loader or action
// called with a request as the browser sends it. Nothing here is bundled: only tests import it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppLoadContext } from "@remix-run/server-runtime";
import { migrateDb } from "../db/migrate.ts";
import { startSqld, type RunningSqld } from "../db/sqld.ts";
import type { SharedCache } from "../edge/adapters/cache.ts";
import { ConfigSchema } from "../edge/config.ts";
import { createEdgeDb } from "../edge/db.ts";
import { realClock } from "../edge/clock.ts";
import { createTeam, ensurePersonalAccount, localUserId, setMember, viewerFor, type Person } from "../edge/identity/accounts.ts";
import { accountCookie, startSession } from "../edge/identity/session.ts";

export const ORIGIN = "http://127.0.0.1:8787";

export interface PageTestbed {
  context: AppLoadContext;
  /** A person with a personal account, and the cookies of their session acting in it. */
  person(name: string): Promise<{ person: Person; accountId: string; cookie: string }>;
  /** A team owned by `owner` with `member` as a member; the cookies of each acting in it. */
  team(owner: Person, member: Person): Promise<{ teamId: string; asOwner: string; asMember: string }>;
  stop(): Promise<void>;
}

type RouteFn = (args: { request: Request; context: AppLoadContext; params: Record<string, string> }) => unknown;

/** A loader's answer (or the Response it threw: a redirect, a 403, a 404). */
export async function load(fn: RouteFn, bed: PageTestbed, path: string, cookie: string, params: Record<string, string> = {}): Promise<unknown> {
  try {
    return await fn({ request: new Request(`${ORIGIN}${path}`, { headers: { cookie } }), context: { ...bed.context }, params });
  } catch (e) {
    if (e instanceof Response) return e;
    throw e;
  }
}

/** An action's answer to a form posted as the browser posts it (form fields, or a prepared body). */
export async function post(fn: RouteFn, bed: PageTestbed, path: string, cookie: string, body: Record<string, string | string[]> | FormData | { json: unknown }, params: Record<string, string> = {}): Promise<unknown> {
  let init: RequestInit;
  if (body instanceof FormData) init = { body };
  else if ("json" in body && !Array.isArray(body.json)) init = { body: JSON.stringify(body.json), headers: { "content-type": "application/json" } };
  else init = { body: new URLSearchParams(Object.entries(body as Record<string, string | string[]>).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]))) };
  const request = new Request(`${ORIGIN}${path}`, { method: "POST", ...init, headers: { cookie, ...(init.headers as Record<string, string> | undefined) } });
  try {
    return await fn({ request, context: { ...bed.context }, params });
  } catch (e) {
    if (e instanceof Response) return e;
    throw e;
  }
}

/** Counters and keys in memory, with no expiry (a test is shorter than any TTL it would meet). */
function memoryCache(): SharedCache {
  const m = new Map<string, unknown>();
  return {
    get: async <T>(key: string) => (m.has(key) ? (m.get(key) as T) : null),
    set: async (key, value) => void m.set(key, value),
    increment: async (key, _ttlS, by = 1) => {
      const n = Number(m.get(key) ?? 0) + by;
      m.set(key, n);
      return n;
    },
    claim: async (key) => (m.has(key) ? false : (m.set(key, true), true)),
    remember: async (key, member) => void m.set(key, new Set([...((m.get(key) as Set<string> | undefined) ?? []), member])),
    members: async (key) => [...((m.get(key) as Set<string> | undefined) ?? [])],
    delete: async (keys) => keys.filter((k) => m.delete(k)).length,
  };
}

export async function startPageTestbed(name: string): Promise<PageTestbed> {
  const dataDir = mkdtempSync(join(tmpdir(), `mxray-${name}-`));
  const sqld = await startSqld({ dataDir });
  await migrateDb(sqld.url);
  const env = {
    MXRAY_MODE: "local",
    TURSO_DATABASE_URL: sqld.url,
    PROBE_SECRET: `probe-secret-for-the-${name}-test-0123`,
    SESSION_SECRET: `session-secret-for-the-${name}-test-0123`,
    // Required by the config; the cache below stands in for Redis.
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
    UPSTASH_REDIS_REST_TOKEN: "unused",
    MXRAY_ENCRYPTION_KEYS: `t1:${btoa("mxray test encryption key, no. 1")}`,
  };
  const config = ConfigSchema.parse(env);
  const request = { ip: "127.0.0.1", userAgent: `${name}.test`, requestId: `req_${name}_test` };
  const services = { config, db: createEdgeDb(config), request, origin: ORIGIN, cache: memoryCache(), clock: realClock };
  const context = { cloudflare: { env: env as unknown as Env, ctx: { waitUntil: () => {} } }, services } as unknown as AppLoadContext;
  let n = 0;

  const cookiesOf = async (p: Person, accountId: string) => {
    const session = await startSession(context.services, p, { secure: false });
    const account = await accountCookie(context.services, { accountId, actor: p.id }, { secure: false });
    return `${session.split(";")[0]}; ${account.split(";")[0]}`;
  };

  return {
    context,
    async person(who) {
      const email = `${who}.${++n}@example.com`;
      const person = { id: await localUserId(email), email };
      const accountId = await ensurePersonalAccount(context.services, person, { signupCredits: 0 });
      return { person, accountId, cookie: await cookiesOf(person, accountId) };
    },
    async team(owner, member) {
      const ownerViewer = (await viewerFor(context.services, owner, { preferred: null }))!;
      const teamId = await createTeam(context.services, ownerViewer, { name: "Growth" });
      await setMember(context.services, (await viewerFor(context.services, owner, { preferred: teamId }))!, { email: member.email, role: "member" });
      return { teamId, asOwner: await cookiesOf(owner, teamId), asMember: await cookiesOf(member, teamId) };
    },
    async stop() {
      await sqld.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
