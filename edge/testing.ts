// Test helpers for workerd tests: seed rows in the real sqld the pool started, and call the
// Worker's own fetch.
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { generateApiKey, hashApiKey, keyPrefix } from "../core/apikeys.ts";
import type { Result } from "../core/contracts.ts";
import { newId } from "../core/ids.ts";
import type { BatchItem } from "../core/ingest.ts";
import { accounts, apiKeys, batches, jobs } from "../db/schema.ts";
import { createEdgeDb } from "./db.ts";

export const testDb = () => createEdgeDb(env);

export async function seedAccount(credits = 1_000_000): Promise<{ accountId: string; key: string; keyId: string }> {
  const db = testDb();
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
  await db.insert(batches).values({ id: batchId, jobId, accountId, status: "dispatched", size: emails.length, items: JSON.stringify(items), round: opts.round ?? 0, probeId: "prb_test", leaseExpiresAt: Date.now() + 60_000 });
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

export function call(path: string, init: RequestInit & { key?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  return exports.default.fetch(`http://edge.test${path}`, { ...init, headers });
}

export async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}
