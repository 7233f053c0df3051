// Finding one person's address, with a stand-in probe client that answers candidates as a probe
// would (edge/testing.ts) and the real sqld: what is asked, what is charged, what is learned.
import { env } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { creditLedger, probes } from "../../db/schema.ts";
import type { ProbeAnswer } from "../adapters/probeclient.ts";
import { result, seedAccount, serviceCode, standInProbeClient, testDb as db } from "../testing.ts";
import { buildServices, type Services } from "../context.ts";
import { creditBalance } from "../credits/credits.ts";
import { knownPatterns } from "./domainpatterns.ts";
import { findPerson, findPersonOnce, type FindPersonRequest } from "./find.ts";

const ours = [newId("prb"), newId("prb")];
beforeAll(async () => {
  await db().insert(probes).values(ours.map((id) => ({ id, url: "http://standin.invalid", capacity: 4, status: "active" as const, lastHeartbeatAt: Date.now() })));
});
afterAll(async () => {
  await db().delete(probes).where(inArray(probes.id, ours));
});

/** A company whose mailboxes are `exists`; every other address is refused, or accepted on a catch-all. */
function company(exists: (local: string) => boolean, catchAll = false) {
  const domain = `${newId("req").slice(4, 14).toLowerCase()}.example.com`;
  const answer = (email: string): ProbeAnswer => {
    if (catchAll) return { ok: true, result: result(email, "risky", { catch_all: true }) };
    return { ok: true, result: exists(email.split("@")[0]!) ? result(email, "deliverable", { score: 97 }) : result(email, "undeliverable") };
  };
  const client = standInProbeClient(answer);
  const s: Services = { ...buildServices(env, { waitUntil: () => {} }, "http://edge.test"), probeClient: client };
  const find = (accountId: string, req: Omit<FindPersonRequest, "domain">) => findPerson(s, { accountId, actor: "user_test" }, { find: { ...req, domain }, chargeKey: newId("req") });
  return { domain, client, find };
}
const spent = async (accountId: string, from = 100) => from - (await creditBalance(db(), accountId));

describe("findPerson", () => {
  it("finds the address, charges one credit for it, and learns the domain's pattern for the next person", async () => {
    const { accountId } = await seedAccount(100);
    const acme = company((local) => ["alovelace", "cbabbage"].includes(local));
    const first = await acme.find(accountId, { first_name: "Ada", last_name: "Lovelace" });
    expect(first).toMatchObject({ email: `alovelace@${acme.domain}`, verdict: "deliverable", pattern: "flast", confidence: 97, catch_all: false });
    expect(first.candidates.map((c) => c.email)).toEqual([`ada.lovelace@${acme.domain}`, `alovelace@${acme.domain}`]);
    expect(await spent(accountId)).toBe(1);
    expect(await knownPatterns(db(), acme.domain)).toEqual([{ pattern: "flast", count: 1 }]);

    // The next person at the company is asked the learned pattern first: one candidate.
    acme.client.calls.length = 0;
    const second = await acme.find(accountId, { full_name: "Charles Babbage" });
    expect(second.email).toBe(`cbabbage@${acme.domain}`);
    expect(acme.client.calls.map((c) => c.email)).toEqual([`cbabbage@${acme.domain}`]);
    expect(await spent(accountId)).toBe(2);
    const [entry] = await db().select().from(creditLedger).where(eq(creditLedger.accountId, accountId)).orderBy(creditLedger.id).limit(1).offset(1);
    expect(entry).toMatchObject({ reason: "single_find", delta: -1 });
  });

  it("returns no address, free, when every candidate is refused", async () => {
    const { accountId } = await seedAccount(100);
    const nobody = company(() => false);
    const answer = await nobody.find(accountId, { first_name: "Grace", last_name: "Hopper" });
    expect(answer).toMatchObject({ email: null, verdict: "undeliverable", reason: "mailbox_not_found", confidence: 0, pattern: null });
    expect(answer.candidates.length).toBeGreaterThan(5);
    expect(await spent(accountId)).toBe(0);
    expect(await knownPatterns(db(), nobody.domain)).toEqual([]);
  });

  it("answers a catch-all domain with the likeliest pattern as risky, charged, and learns nothing", async () => {
    const { accountId } = await seedAccount(100);
    const anything = company(() => true, true);
    const answer = await anything.find(accountId, { first_name: "Alan", last_name: "Turing" });
    expect(answer).toMatchObject({ email: `alan.turing@${anything.domain}`, verdict: "risky", reason: "catch_all", pattern: "first.last", catch_all: true });
    expect(answer.confidence).toBeGreaterThan(0);
    expect(answer.confidence).toBeLessThan(60);
    expect(await spent(accountId)).toBe(1);
    expect(await knownPatterns(db(), anything.domain)).toEqual([]);
  });

  it("asks a provider's address first, and finds the person by pattern when the server refuses it", async () => {
    const { accountId } = await seedAccount(100);
    const acme = company((local) => ["ceo", "glovelace"].includes(local));
    const provided = await acme.find(accountId, { first_name: "Ada", last_name: "Lovelace", provided_email: `CEO@${acme.domain}` });
    expect(provided).toMatchObject({ email: `ceo@${acme.domain}`, verdict: "deliverable", pattern: "provided" });
    expect(acme.client.calls.map((c) => c.email)).toEqual([`ceo@${acme.domain}`]);
    // An address no pattern makes teaches no pattern.
    expect(await knownPatterns(db(), acme.domain)).toEqual([]);

    acme.client.calls.length = 0;
    const stale = await acme.find(accountId, { first_name: "Grace", last_name: "Lovelace", provided_email: `grace@${acme.domain}` });
    expect(stale.email).toBe(`glovelace@${acme.domain}`);
    expect(acme.client.calls.map((c) => c.email).slice(0, 3)).toEqual([`grace@${acme.domain}`, `grace.lovelace@${acme.domain}`, `glovelace@${acme.domain}`]);
    expect(await spent(accountId)).toBe(2);
  });

  it("answers a retry with the same Idempotency-Key from the first find, charged once; another body under it is a conflict", async () => {
    const { accountId } = await seedAccount(100);
    const acme = company((local) => local === "alovelace");
    const s: Services = { ...buildServices(env, { waitUntil: () => {} }, "http://edge.test"), probeClient: acme.client };
    const req = { first_name: "Ada", last_name: "Lovelace", domain: acme.domain };
    const once = (body: FindPersonRequest) => findPersonOnce(s, { accountId, actor: "user_test" }, { find: body, requestId: newId("req"), idempotencyKey: "retry-1" });
    const first = await once(req);
    const asked = acme.client.calls.length;
    const again = await once(req);
    expect(first).toMatchObject({ replayed: false, answer: { email: `alovelace@${acme.domain}` } });
    expect(again).toEqual({ replayed: true, answer: first.answer });
    expect(acme.client.calls).toHaveLength(asked);
    expect(await spent(accountId)).toBe(1);
    expect(await serviceCode(once({ ...req, first_name: "Grace" }))).toBe("conflict");
  });

  it("refuses bad input and an empty balance before asking a probe", async () => {
    const { accountId } = await seedAccount(100);
    const acme = company(() => true);
    const s: Services = { ...buildServices(env, { waitUntil: () => {} }, "http://edge.test"), probeClient: acme.client };
    const ask = (req: FindPersonRequest) => serviceCode(findPerson(s, { accountId, actor: "user_test" }, { find: req, chargeKey: newId("req") }));
    expect(await ask({ first_name: "Ada", last_name: "Lovelace" })).toBe("validation_failed");
    expect(await ask({ first_name: "!!!", last_name: "???", domain: acme.domain })).toBe("validation_failed");
    expect(await ask({ full_name: "Ada Lovelace", domain: "127.0.0.1" })).toBe("validation_failed");
    const { accountId: broke } = await seedAccount(0);
    expect(await serviceCode(acme.find(broke, { full_name: "Ada Lovelace" }))).toBe("insufficient_credits");
    expect(acme.client.calls).toEqual([]);
  });
});
