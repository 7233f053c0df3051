// Decision makers inside workerd: the real provider adapters against their loopback stand-ins
// (e2e/standin-peopledata.ts), a scripted finder in place of the single find, and the real sqld
// for the `dm.enriched` event.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { FindAnswer } from "../../core/contracts.ts";
import { newId } from "../../core/ids.ts";
import type { WebhookEventType } from "../../core/enums.ts";
import { accounts, webhookDeliveries, webhookEvents } from "../../db/schema.ts";
import type { StandInCall } from "../../e2e/standin-peopledata.ts";
import type { WebhookQueue } from "../adapters/webhookqueue.ts";
import { ServiceError } from "../errors.ts";
import { serviceCode } from "../testing.ts";
import { buildServices, type Services } from "../context.ts";
import { findDecisionMakers, type Finder } from "./decisionmakers.ts";
import { createEndpoint } from "../webhooks/endpoints.ts";

const PROVIDERS: [string, Partial<Env>][] = [
  ["pdl", { PDL_API_KEY: env.STANDIN_PEOPLEDATA_KEY!, PDL_API_URL: env.STANDIN_PDL_URL! }],
  ["apollo", { APOLLO_API_KEY: env.STANDIN_PEOPLEDATA_KEY!, APOLLO_API_URL: env.STANDIN_APOLLO_URL! }],
];

function harness(keys: Partial<Env>) {
  const pending: Promise<unknown>[] = [];
  const handed: string[] = [];
  const recording: WebhookQueue = { kind: "direct", enqueue: async (id) => (handed.push(id), true) };
  const s: Services = { ...buildServices({ ...env, ...keys }, { waitUntil: (p) => pending.push(p) }, "http://edge.test"), webhookQueue: recording };
  const settle = async () => {
    while (pending.length > 0) await Promise.all(pending.splice(0));
  };
  return { s, handed, settle };
}

const answer = (email: string | null): FindAnswer => ({
  email,
  verdict: email ? "deliverable" : "undeliverable",
  reason: email ? "accepted" : "mailbox_not_found",
  confidence: email ? 95 : 0,
  pattern: email ? "first.last" : null,
  catch_all: false,
  candidates: [],
  duration_ms: 3,
});

/** A finder that answers first.last@domain and records whom it was asked for, and the keys. */
function scriptedFinder() {
  const asked: Parameters<Finder>[0][] = [];
  const keys: string[] = [];
  const find: Finder = async (p, key) => {
    asked.push(p);
    keys.push(key);
    return answer(`${p.first_name}.${p.last_name}@${p.domain}`.toLowerCase());
  };
  return { find, asked, keys };
}

/** A member of the account, as the services take them. */
const user = (accountId: string) => ({ accountId, actor: "user_test" });

async function account(s: Services, events: WebhookEventType[] = [], credits = 100) {
  const accountId = newId("acc");
  await s.db.insert(accounts).values({ id: accountId, name: "a", kind: "personal", creditBalance: credits });
  if (events.length > 0) {
    await createEndpoint(s, { accountId, actor: "usr_test" }, { url: `${env.STANDIN_RECEIVER_URL}/ok/${accountId}`, events, kind: "endpoint" }, Date.now() - 1_000);
  }
  return accountId;
}

describe.each(PROVIDERS)("decision makers through %s", (provider, keys) => {
  it("lists the people with their titles and finds each one's address on the domain of the URL given", async () => {
    const { s } = harness(keys);
    const { find, asked, keys: chargeKeys } = scriptedFinder();
    const out = await findDecisionMakers(s, user(await account(s)), { domain: "https://www.acme.test/about" }, find);
    // Each find is charged under a key of its own.
    expect(new Set(chargeKeys).size).toBe(3);
    expect([out.domain, out.provider]).toEqual(["acme.test", provider]);
    expect(asked).toEqual([
      // The provider's own address goes to the finder, to be asked first.
      { first_name: "Ada", last_name: "Lovelace", domain: "acme.test", provided_email: "ada@acme.test" },
      { first_name: "Grace", last_name: "Hopper", domain: "acme.test", provided_email: null },
      { first_name: "Charles", last_name: "Babbage", domain: "acme.test", provided_email: null },
    ]);
    expect(out.people.map((p) => [p.full_name, p.title?.toLowerCase(), p.find?.email, p.provider_email])).toEqual([
      ["Ada Lovelace", "chief executive officer (ceo)", "ada.lovelace@acme.test", "ada@acme.test"],
      ["Grace Hopper", "co-founder & cto", "grace.hopper@acme.test", null],
      ["Charles Babbage", "head of sales", "charles.babbage@acme.test", null],
    ]);
  });
});

describe("decision makers", () => {
  const [, pdlKeys] = PROVIDERS[0]!;

  it("is off without a provider's key, and refuses a domain that is not one", async () => {
    const off = harness({});
    expect(await serviceCode(findDecisionMakers(off.s, user(await account(off.s)), { domain: "acme.test" }, scriptedFinder().find))).toBe("people_data_off");
    const on = harness(pdlKeys);
    expect(await serviceCode(findDecisionMakers(on.s, user(await account(on.s)), { domain: "localhost" }, scriptedFinder().find))).toBe("validation_failed");
  });

  it("asks the provider once a day for the same question: its records cost the operator", async () => {
    const { s, settle } = harness(pdlKeys);
    const accountId = await account(s);
    const asked = async () =>
      ((await (await fetch(`${env.STANDIN_PDL_URL}/_calls`)).json()) as StandInCall[]).filter((c) => c.domain === "globex.test" && c.titles.join() === "founder").length;
    const first = await findDecisionMakers(s, user(accountId), { domain: "globex.test", titles: ["Founder"] }, scriptedFinder().find);
    await settle();
    const again = await findDecisionMakers(s, user(accountId), { domain: "https://globex.test", titles: ["founder "] }, scriptedFinder().find);
    expect(again).toEqual(first);
    expect(await asked()).toBe(1);
  });

  it("lets an account ask the provider MXRAY_PEOPLE_DATA_PER_DAY times a UTC day; the day's cached answers stay free", async () => {
    const { s, settle } = harness({ ...pdlKeys, MXRAY_PEOPLE_DATA_PER_DAY: "2" });
    const [accountId, other] = [await account(s), await account(s)];
    const noon = Date.UTC(2026, 10, 30, 12);
    // Questions of this test alone: no other test's answer is in the day's cache.
    const titles = ["ceo", newId("req")];
    const ask = (domain: string, who = accountId, now = noon) => findDecisionMakers(s, user(who), { domain, titles }, scriptedFinder().find, now);
    // A lookup the provider failed is not counted.
    expect(await serviceCode(ask("status-503.test"))).toBe("people_data_unavailable");
    await ask("acme.test");
    await ask("globex.test");
    const over = await ask("initech.test").catch((e: unknown) => e);
    expect(over).toBeInstanceOf(ServiceError);
    expect([(over as ServiceError).code, (over as ServiceError).retryAfterS]).toEqual(["people_data_limit", 12 * 60 * 60]);
    await settle();
    // A question the provider answered today comes from the cache, without a lookup.
    expect((await ask("acme.test")).people.length).toBeGreaterThan(0);
    // Another account has its own lookups, and the next UTC day brings new ones.
    await ask("initech.test", other);
    await ask("umbrella.test", accountId, noon + 12 * 60 * 60 * 1000);
  });

  it("keeps the answers found when the credits run out, and asks for nobody after", async () => {
    const { s } = harness(pdlKeys);
    const asked: string[] = [];
    let failed!: Promise<FindAnswer>;
    // The first find fails at once; the finds already under way answer only after the service has
    // seen that failure (promise reactions run in order), so the fourth person is never asked.
    const find: Finder = (p) => {
      asked.push(p.first_name);
      if (asked.length === 1) return (failed = Promise.reject(new ServiceError("insufficient_credits", "No credits left")));
      return failed.catch(() => answer(`${p.first_name}@${p.domain}`.toLowerCase()));
    };
    const out = await findDecisionMakers(s, user(await account(s)), { domain: "acme.test", titles: ["ceo", "cto", "sales", "engineer"] }, find);
    expect(out.people.map((p) => [p.first_name, p.find?.email ?? null, p.find_error?.code ?? null, p.provider_email])).toEqual([
      // Ada's find was not paid: the provider's address for her is not shown.
      ["Ada", null, "insufficient_credits", null],
      ["Grace", "grace@acme.test", null, null],
      ["Charles", "charles@acme.test", null, null],
      ["Alan", null, "insufficient_credits", null],
    ]);
    expect(asked).toEqual(["Ada", "Grace", "Charles"]);
  });

  it("sends dm.enriched to an account subscribed to it, and records nothing for one that is not", async () => {
    const { s, handed, settle } = harness(pdlKeys);
    const subscribed = await account(s, ["dm.enriched"]);
    const other = await account(s, ["verification.completed"]);
    await findDecisionMakers(s, user(subscribed), { domain: "acme.test", titles: ["ceo"] }, scriptedFinder().find);
    await findDecisionMakers(s, user(other), { domain: "acme.test", titles: ["ceo"] }, scriptedFinder().find);
    await settle();
    const mine = await s.db.select().from(webhookEvents).where(eq(webhookEvents.accountId, subscribed));
    expect(mine.map((e) => e.type)).toEqual(["dm.enriched"]);
    expect(JSON.parse(mine[0]!.data!)).toEqual({
      domain: "acme.test",
      provider: "pdl",
      people: [{ full_name: "Ada Lovelace", title: "Chief Executive Officer (CEO)", email: "ada.lovelace@acme.test", verdict: "deliverable", confidence: 95 }],
    });
    expect(await s.db.select().from(webhookEvents).where(eq(webhookEvents.accountId, other))).toEqual([]);
    // One delivery, to the subscribed endpoint, handed to the transport.
    const deliveries = await s.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.accountId, subscribed));
    expect(deliveries).toHaveLength(1);
    expect(handed).toContain(deliveries[0]!.id);
  });

  const pdlCalls = async (titles: string[]) =>
    ((await (await fetch(`${env.STANDIN_PDL_URL}/_calls`)).json()) as StandInCall[]).filter((c) => c.domain === "acme.test" && c.titles.includes(titles[1]!)).length;

  it("asks the provider nothing, and spends none of the day's lookups, for an account without credits", async () => {
    const { s, settle } = harness(pdlKeys);
    const titles = ["ceo", newId("req")];
    const broke = await account(s, [], 0);
    const asked = scriptedFinder();
    const noon = Date.UTC(2026, 10, 30, 12);
    expect(await serviceCode(findDecisionMakers(s, user(broke), { domain: "acme.test", titles }, asked.find, noon))).toBe("insufficient_credits");
    expect(await pdlCalls(titles)).toBe(0);
    expect(asked.asked).toEqual([]);
    expect(await s.cache.get(`people-quota:${broke}:${Math.floor(noon / 86_400_000)}`)).toBeNull();
    // Nor from the day's cache, once another account asked the same question.
    await findDecisionMakers(s, user(await account(s)), { domain: "acme.test", titles }, scriptedFinder().find);
    await settle();
    expect(await serviceCode(findDecisionMakers(s, user(broke), { domain: "acme.test", titles }, scriptedFinder().find))).toBe("insufficient_credits");
    expect(await pdlCalls(titles)).toBe(1);
  });

  it("lists no more people than the balance could pay finds for", async () => {
    const { s } = harness(pdlKeys);
    const out = await findDecisionMakers(s, user(await account(s, [], 2)), { domain: "acme.test", titles: ["ceo", "cto", "sales", newId("req")] }, scriptedFinder().find);
    expect(out.people.map((p) => p.first_name)).toEqual(["Ada", "Grace"]);
  });

  it("shows the provider's address only beside a paid find, and not among the candidates of a free one", async () => {
    const { s } = harness(pdlKeys);
    const tried = (email: string) => ({ email, pattern: "first", verdict: "unknown" as const, reason: "timeout" as const, mx: "mx.acme.test", smtp: null });
    // The server would not tell: no address, nothing charged.
    const find: Finder = async (p) => ({ ...answer(null), verdict: "unknown", reason: "timeout", candidates: [tried(p.provided_email ?? "x@acme.test"), tried(`${p.first_name}.${p.last_name}@acme.test`.toLowerCase())] });
    const out = await findDecisionMakers(s, user(await account(s)), { domain: "acme.test", titles: ["ceo", newId("req")] }, find);
    expect(out.people.map((p) => [p.first_name, p.provider_email, p.find?.candidates.map((c) => c.email)])).toEqual([["Ada", null, ["ada.lovelace@acme.test"]]]);
    expect(JSON.stringify(out)).not.toContain("ada@acme.test");
  });
});
