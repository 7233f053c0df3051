// POST /api/v1/decision-makers inside workerd: off (501) on the Worker's own bindings, which hold
// no provider key; on with the People Data Labs stand-in (e2e/standin-peopledata.ts). The choices
// behind it (finds, credits, the dm.enriched event) are tested in edge/finder/decisionmakers.test.ts.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import type { DecisionMakers } from "../finder/decisionmakers.ts";
import { call, errorCode, seedAccount } from "../testing.ts";

const withPdl: Env = { ...env, PDL_API_KEY: env.STANDIN_PEOPLEDATA_KEY!, PDL_API_URL: env.STANDIN_PDL_URL! };
const ask = (key: string | undefined, body: unknown, bindings?: Env) =>
  call("/api/v1/decision-makers", { method: "POST", ...(key ? { key } : {}), body: JSON.stringify(body), headers: { "content-type": "application/json" }, ...(bindings ? { env: bindings } : {}) });

describe("POST /api/v1/decision-makers", () => {
  it("says the feature is off without a provider's key, and so does the account", async () => {
    const { key } = await seedAccount(10);
    const res = await ask(key, { domain: "acme.test" });
    expect([res.status, await errorCode(res)]).toEqual([501, "people_data_off"]);
    expect(await (await call("/api/v1/account", { key })).json()).toMatchObject({ features: { people_data: false } });
    expect(await (await call("/api/v1/account", { key, env: withPdl })).json()).toMatchObject({ features: { people_data: true } });
  });

  it("needs an API key", async () => {
    const res = await ask(undefined, { domain: "acme.test" }, withPdl);
    expect([res.status, await errorCode(res)]).toEqual([401, "unauthorized"]);
  });

  it("refuses a bad body: no domain, a limit over 25, a domain that is not one", async () => {
    const { key } = await seedAccount(10);
    for (const body of [{}, { domain: "acme.test", limit: 26 }, { domain: "localhost" }]) {
      const res = await ask(key, body, withPdl);
      expect([res.status, await errorCode(res)]).toEqual([400, "validation_failed"]);
    }
  });

  it("lists the provider's people with their titles, each with the finder's answer or why there is none", async () => {
    const { key } = await seedAccount(10);
    const res = await ask(key, { domain: "https://acme.test/", titles: ["ceo", "head of sales"] }, withPdl);
    expect(res.status).toBe(200);
    const body = (await res.json()) as DecisionMakers;
    expect([body.domain, body.provider]).toEqual(["acme.test", "pdl"]);
    // No find was paid (no probe answers here): the provider's address for Ada is not shown.
    expect(body.people.map((p) => [p.full_name, p.title, p.provider_email, p.find])).toEqual([
      ["Ada Lovelace", "Chief Executive Officer (CEO)", null, null],
      ["Charles Babbage", "Head Of Sales", null, null],
    ]);
    expect(body.people[0]!.find_error).toEqual({ code: expect.any(String), message: expect.any(String) });
  });

  it("answers 402 to an account without credits, before the provider is asked", async () => {
    const { key } = await seedAccount(0);
    const titles = ["ceo", newId("req")];
    const res = await ask(key, { domain: "acme.test", titles }, withPdl);
    expect([res.status, await errorCode(res)]).toEqual([402, "insufficient_credits"]);
    const calls = (await (await fetch(`${env.STANDIN_PDL_URL}/_calls`)).json()) as { titles: string[] }[];
    expect(calls.filter((c) => c.titles.includes(titles[1]!))).toEqual([]);
  });

  it("documents the operation", async () => {
    const doc = (await (await call("/api/v1/openapi.json")).json()) as { paths: Record<string, { post?: { operationId: string } }> };
    expect(doc.paths["/api/v1/decision-makers"]?.post?.operationId).toBe("findDecisionMakers");
  });
});
