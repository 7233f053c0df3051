// The real People Data Labs and Apollo adapters inside workerd, against their loopback stand-ins
// (e2e/standin-peopledata.ts), which check the key header and the request's documented shape.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { StandInCall } from "../../e2e/standin-peopledata.ts";
import { loadConfig } from "../config.ts";
import { ServiceError } from "../errors.ts";
import { createApolloProvider, createPdlProvider, DEFAULT_TITLES, peopleProvider, type PeopleProvider } from "./peopledata.ts";

const key = env.STANDIN_PEOPLEDATA_KEY!;
const pdl = (apiKey = key) => createPdlProvider({ apiKey, apiUrl: env.STANDIN_PDL_URL! });
const apollo = (apiKey = key) => createApolloProvider({ apiKey, apiUrl: env.STANDIN_APOLLO_URL! });
const callsFor = async (url: string, domain: string): Promise<StandInCall[]> =>
  ((await (await fetch(`${url}/_calls`)).json()) as StandInCall[]).filter((c) => c.domain === domain);

async function failure(work: Promise<unknown>): Promise<ServiceError> {
  try {
    await work;
  } catch (e) {
    if (e instanceof ServiceError) return e;
    throw e;
  }
  throw new Error("expected a ServiceError");
}

describe.each([
  ["pdl", pdl, env.STANDIN_PDL_URL!],
  ["apollo", apollo, env.STANDIN_APOLLO_URL!],
] as [string, (k?: string) => PeopleProvider, string][])("%s adapter", (name, provider, url) => {
  it("lists a domain's decision makers by the default titles, with full names, titles and LinkedIn", async () => {
    const people = await provider().listPeople("acme.test", { limit: 10 });
    expect(people.map((p) => [p.first_name, p.last_name, p.full_name])).toEqual([
      ["Ada", "Lovelace", "Ada Lovelace"],
      ["Grace", "Hopper", "Grace Hopper"],
      ["Charles", "Babbage", "Charles Babbage"],
    ]);
    expect(people[0]).toMatchObject({ title: expect.stringMatching(/chief executive officer/i), linkedin_url: expect.stringMatching(/^https?:\/\/(www\.)?linkedin\.com\/in\/ada-lovelace$/), email: "ada@acme.test" });
    // A hidden address (PDL's `false`, Apollo's placeholder) is no address.
    expect(people[1]!.email).toBeNull();
  });

  it("sends the default titles when none are given", async () => {
    // A domain no other test asks about: the stand-in's log is shared by every test file.
    expect((await provider().listPeople("globex.test", { limit: 3 })).map((p) => p.full_name)).toEqual(["Hank Scorpio"]);
    expect((await callsFor(url, "globex.test")).filter((c) => c.path.endsWith("search")).map((c) => c.titles)).toEqual([[...DEFAULT_TITLES]]);
  });

  it("asks for the titles given, and at most `limit` people", async () => {
    const people = await provider().listPeople("acme.test", { titles: ["engineer"], limit: 1 });
    expect(people.map((p) => p.full_name)).toEqual(["Alan Turing"]);
    expect(await provider().listPeople("acme.test", { limit: 2 })).toHaveLength(2);
  });

  it("answers nobody for a domain it knows nothing of", async () => {
    expect(await provider().listPeople("nobody.test", { limit: 5 })).toEqual([]);
  });

  it(`maps a refused key, a rate limit and a ${name} failure to people_data_unavailable, never showing the key`, async () => {
    const refused = await failure(provider("wrong-key-that-must-not-leak").listPeople("acme.test", { limit: 5 }));
    expect([refused.code, refused.message]).toEqual(["people_data_unavailable", expect.stringContaining("refused (401)")]);
    expect(refused.message).not.toContain("wrong-key-that-must-not-leak");
    const limited = await failure(provider().listPeople("status-429.test", { limit: 5 }));
    expect([limited.code, limited.message, limited.retryAfterS]).toEqual(["people_data_unavailable", expect.stringContaining("429"), 60]);
    const broken = await failure(provider().listPeople("status-502.test", { limit: 5 }));
    expect([broken.code, broken.message]).toEqual(["people_data_unavailable", expect.stringContaining("502")]);
  });
});

describe("choosing a provider", () => {
  const config = (extra: Partial<Env>) => loadConfig({ ...env, ...extra });

  it("is off without keys, PDL when both are set, else Apollo", () => {
    expect(peopleProvider(config({}))).toBeNull();
    expect(peopleProvider(config({ PDL_API_KEY: "a", APOLLO_API_KEY: "b" }))?.name).toBe("pdl");
    expect(peopleProvider(config({ APOLLO_API_KEY: "b" }))?.name).toBe("apollo");
  });
});
