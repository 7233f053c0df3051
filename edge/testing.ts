// Test helpers for workerd tests: seed rows in the real sqld the pool started, and call the
// Worker's own fetch.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { generateApiKey, hashApiKey, keyPrefix } from "../core/apikeys.ts";
import type { Result } from "../core/contracts.ts";
import { newId } from "../core/ids.ts";
import { composeFind, names } from "../core/finder/answer.ts";
import type { BatchItem } from "../core/ingest.ts";
import { sign, SIGNATURE_HEADER } from "../core/signing.ts";
import { thrownCode } from "../core/testing.ts";
import { accounts, apiKeys, batches, batchItems, jobs } from "../db/schema.ts";
import type { ProbeAnswer, ProbeClient } from "./adapters/probeclient.ts";
import { createEdgeDb, type EdgeDb } from "./db.ts";
import { ensurePersonalAccount, localUserId, viewerFor, type Person, type Viewer } from "./identity/accounts.ts";
import { ServiceError } from "./errors.ts";
import worker from "./worker.ts";
// After the Worker: context.ts evaluates core/contracts' zod schemas, which must come after
// @hono/zod-openapi extends zod (the Worker's routes import it) to have .openapi.
import { buildServices, type Services } from "./context.ts";

export const testDb = () => createEdgeDb(env);

/** The Services a Worker builds, on the test bindings with no request behind them; `over` replaces parts. */
export const testServices = (over: Partial<Services> = {}): Services => ({ ...buildServices(env, { waitUntil: () => {} }, "http://edge.test"), ...over });

export async function seedAccount(credits = 1_000_000, db: EdgeDb = testDb()): Promise<{ accountId: string; key: string; keyId: string }> {
  const accountId = newId("acc");
  await db.insert(accounts).values({ id: accountId, name: accountId, kind: "personal", creditBalance: credits });
  const key = generateApiKey("test");
  const keyId = newId("key");
  await db.insert(apiKeys).values({ id: keyId, accountId, name: "test", mode: "test", prefix: keyPrefix(key), hash: await hashApiKey(key) });
  return { accountId, key, keyId };
}

/** A running job whose addresses sit in one dispatched batch. */
export async function seedJobWithBatch(accountId: string, emails: string[], opts: { round?: number; status?: "running" | "queued" } = {}) {
  const db = testDb();
  const jobId = newId("job");
  const batchId = newId("bat");
  await db.insert(jobs).values({ id: jobId, accountId, name: "list", status: opts.status ?? "running", total: emails.length, unique: emails.length, creditsReserved: emails.length });
  const items: BatchItem[] = emails.map((e, i) => [e.toLowerCase(), e, i, null]);
  await db.insert(batches).values({ id: batchId, jobId, accountId, status: "dispatched", size: emails.length, round: opts.round ?? 0, probeId: "prb_test", leaseExpiresAt: Date.now() + 60_000 });
  await db.insert(batchItems).values({ batchId, items: JSON.stringify(items) });
  return { jobId, batchId };
}

export function result(email: string, verdict: Result["verdict"] = "deliverable", extra: Partial<Result> = {}): Result {
  const reason = { deliverable: "accepted", undeliverable: "mailbox_not_found", risky: "catch_all", unknown: "timeout" }[verdict] as Result["reason"];
  return {
    email, normalized: email.toLowerCase(), verdict, reason, catch_all: false, disposable: false, role: false, free: false,
    greylisted: false, suggestion: null, score: 50, mx: "mx.x.test", smtp: { code: 250, enhanced: "2.1.5", message: "Ok" },
    duration_ms: 1, retry_after: null, ...extra,
  };
}

/**
 * Calls the Worker. With `env`, its handler runs on those bindings (another database) and the
 * answer comes back once its background work (waitUntil) is done, as the next request sees it.
 */
export async function call(path: string, init: RequestInit & { key?: string; env?: Env } = {}): Promise<Response> {
  const { key, env: bindings, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (key) headers.set("authorization", `Bearer ${key}`);
  if (!bindings) return exports.default.fetch(`http://edge.test${path}`, { ...rest, headers });
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://edge.test${path}`, { ...rest, headers }), bindings, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

/**
 * A probe client that answers from a script instead of the network: `answer` gets the address and
 * how many times it was asked before (any probe), so "the first probe fails, the next answers"
 * holds whichever probes are live. Every call is recorded.
 */
export function standInProbeClient(answer: (email: string, attempt: number) => ProbeAnswer): ProbeClient & { calls: { probeId: string; email: string; budgetMs: number }[] } {
  const calls: { probeId: string; email: string; budgetMs: number }[] = [];
  return {
    kind: "stand-in",
    calls,
    async verify(probe, request, budgetMs) {
      const attempt = calls.filter((c) => c.email === request.email).length;
      calls.push({ probeId: probe.id, email: request.email, budgetMs });
      return answer(request.email, attempt);
    },
    // As a probe finds: candidates in order, each answered as `answer` says, until one names a
    // mailbox; a failing candidate fails the whole find, as a probe's failure would.
    async find(probe, request, budgetMs) {
      const tried: Result[] = [];
      for (const { email } of request.candidates) {
        if (tried.some(names)) break;
        const attempt = calls.filter((c) => c.email === email).length;
        calls.push({ probeId: probe.id, email, budgetMs });
        const got = answer(email, attempt);
        if (!got.ok) return got;
        tried.push(got.result);
      }
      return { ok: true, result: composeFind(request.candidates, tried, 1) };
    },
    // Sending's asks go to the scripted stand-in probe on loopback (e2e/standin-probe.ts) instead.
    testRelay: async () => NOT_SCRIPTED,
    sendMessage: async () => NOT_SCRIPTED,
    checkSender: async () => NOT_SCRIPTED,
    testMailbox: async () => NOT_SCRIPTED,
    pollMailbox: async () => NOT_SCRIPTED,
  };
}

const NOT_SCRIPTED = { ok: false, error: "unreachable", detail: "the stand-in probe client scripts checks and finds only" } as const;

/** "ok", or the code of the ServiceError the work threw (anything else is rethrown). */
export const serviceCode = (work: Promise<unknown>): Promise<string> => thrownCode(work, ServiceError);

/** A signed-up person (local sign-in) with their personal account, under a unique address. */
export async function seedPerson(name: string): Promise<Person> {
  const email = `${name}.${newId("req").slice(4, 12)}@example.com`;
  const p = { id: await localUserId(email), email };
  await ensurePersonalAccount(testServices(), p, { signupCredits: 0 });
  return p;
}

/** The person as a member of the team sees it (they must be one); without a team, in their personal account. */
export const viewerAs = async (p: Person, teamId: string | null = null): Promise<Viewer> => (await viewerFor(testServices(), p, { preferred: teamId }))!;

/**
 * Registers probes by signed heartbeats on `bindings`' database, each a path of the scripted
 * stand-in probe (e2e/standin-probe.ts) in the mode given, in the order they are asked (least
 * loaded first). Answers their ids.
 */
export async function standInProbesAt(bindings: Env, ...modes: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, mode] of modes.entries()) {
    const id = `prb_${mode}${i}_${newId("req").slice(4, 10)}`;
    const body = JSON.stringify({ probe_id: id, url: `${env.STANDIN_PROBE_URL}/${mode}/${id}`, version: "0.0.0-standin", in_flight: i, capacity: 100, draining: false, sent_at: new Date().toISOString() });
    const path = "/internal/probes/heartbeat";
    const res = await call(path, { method: "POST", body, headers: { [SIGNATURE_HEADER]: await sign(env.PROBE_SECRET, { method: "POST", path }, body) }, env: bindings });
    if (res.status !== 200) throw new Error(`heartbeat of ${id}: ${res.status}`);
    ids.push(id);
  }
  return ids;
}

/** The bodies of the signed requests the stand-in probe took on `route` (e.g. "v1/messages") under `key`. */
export async function receivedByStandIn<T>(route: "v1/relays/test" | "v1/messages" | "v1/dns/sender-check" | "v1/mailboxes/test" | "v1/mailboxes/poll", key: string): Promise<T[]> {
  return (await fetch(`${env.STANDIN_PROBE_URL}/received?route=${encodeURIComponent(route)}&key=${encodeURIComponent(key)}`)).json();
}
