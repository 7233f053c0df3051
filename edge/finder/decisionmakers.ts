// Decision makers (issue 14): who runs a company, from the people-data provider configured here
// (edge/adapters/peopledata.ts), each one's address then found by our own finder. Each address
// found costs what a find costs, charged by the finder; the listing is given only to an account
// that can pay to find them: at least one credit before the provider is asked, and no more people
// than the balance could pay finds for. A provider's address is asked first and never trusted as
// the answer without the server's word; it is shown (`provider_email`) only beside a paid find.
import type { FindAnswer } from "../../core/contracts.ts";
import { companyDomain } from "../../core/finder/patterns.ts";
import type { DmEnriched } from "../../core/samples.ts";
import type { PeopleProvider, Person } from "../adapters/peopledata.ts";
import { ServiceError, type ServiceErrorCode } from "../errors.ts";
import type { Services, Who } from "../context.ts";
import { creditBalance, insufficientCredits } from "../credits/credits.ts";
import { recordDecisionMakers } from "../webhooks/outbox.ts";

export const MAX_DECISION_MAKERS = 25;
export const DEFAULT_DECISION_MAKERS = 10;
/** Finds asked at once: each holds a probe's SMTP transaction, and the request waits for all. */
const FIND_CONCURRENCY = 3;
/**
 * How long a provider's list is reused. The listing is free to the caller but not to the operator
 * (PDL charges per record, Apollo per enrichment), and a company's leaders change slowly.
 */
export const PEOPLE_CACHE_S = 24 * 60 * 60;
const DAY_MS = 24 * 60 * 60 * 1000;
/** After these, the next find would fail the same way: the rest are not asked. */
const STOPS_FINDING: readonly ServiceErrorCode[] = ["insufficient_credits", "probe_unavailable", "account_disabled"];

/**
 * Finds one person's address (the single find, edge/finder/find.ts), charging as it does.
 * `key` is the person's place in the list: each find of one request needs a charge key of its own.
 */
export type Finder = (person: { first_name: string; last_name: string; domain: string; provided_email: string | null }, key: string) => Promise<FindAnswer>;

export interface DecisionMakersRequest {
  domain: string;
  titles?: string[] | undefined;
  limit?: number | undefined;
}

/** The provider's person, its address named as the provider's, with what our finder found. */
export interface DecisionMaker extends Omit<Person, "email"> {
  /** The provider's own address for the person, unverified; null unless this person's find was paid. */
  provider_email: string | null;
  find: FindAnswer | null;
  /** Why `find` is null: the finder's error (e.g. `insufficient_credits`), or null. */
  find_error: { code: ServiceErrorCode; message: string } | null;
}

export interface DecisionMakers {
  domain: string;
  provider: PeopleProvider["name"];
  people: DecisionMaker[];
}

export const peopleDataOn = (s: Services) => s.peopleData !== null;

/** `find` finds each person's address (findPerson, under a charge key per person). */
export async function findDecisionMakers(s: Services, who: Who, req: DecisionMakersRequest, find: Finder, now = Date.now()): Promise<DecisionMakers> {
  const { accountId } = who;
  const provider = s.peopleData;
  if (!provider) throw new ServiceError("people_data_off", "People data is off: set PDL_API_KEY or APOLLO_API_KEY");
  const domain = companyDomain(req.domain);
  if (typeof domain !== "string") throw new ServiceError("validation_failed", `domain: ${domain.message}`);
  // Before the provider (or its cached answer) is asked: the people it lists are paid-for data.
  const balance = await creditBalance(s.db, accountId);
  if (balance < 1) throw await insufficientCredits(s.db, accountId, 1, "Finding decision makers");
  const limit = Math.min(req.limit ?? DEFAULT_DECISION_MAKERS, MAX_DECISION_MAKERS, balance);
  const found = (await listPeople(s, provider, accountId, domain, req.titles, limit, now)).slice(0, limit);

  const people: DecisionMaker[] = new Array(found.length);
  let stop: ServiceError | null = null;
  let next = 0;
  const work = async () => {
    for (let i = next++; i < found.length; i = next++) people[i] = await findOne(found[i]!, i);
  };
  const findOne = async (p: Person, i: number): Promise<DecisionMaker> => {
    const base = { full_name: p.full_name, first_name: p.first_name, last_name: p.last_name, title: p.title, seniority: p.seniority, linkedin_url: p.linkedin_url, provider_email: null };
    if (stop) return { ...base, find: null, find_error: { code: stop.code, message: stop.message } };
    try {
      const answer = await find({ first_name: p.first_name, last_name: p.last_name, domain, provided_email: p.email }, `dm${i}`);
      // A find is paid when it returns an address; one that returned none was free, and shows
      // nothing of the provider's address (not even among the candidates asked).
      if (answer.email !== null) return { ...base, provider_email: p.email, find: answer, find_error: null };
      return { ...base, find: withoutAddress(answer, p.email), find_error: null };
    } catch (e) {
      if (!(e instanceof ServiceError)) throw e;
      // Answers already found were charged: they are kept, and the rest say why they are missing.
      if (STOPS_FINDING.includes(e.code)) stop ??= e;
      return { ...base, find: null, find_error: { code: e.code, message: e.message } };
    }
  };
  await Promise.all(Array.from({ length: Math.min(FIND_CONCURRENCY, found.length) }, work));

  const answer: DecisionMakers = { domain, provider: provider.name, people };
  await recordDecisionMakers(s, accountId, enrichedEvent(answer));
  return answer;
}

/**
 * The provider's list, from the shared cache when the same question was asked within a day.
 * Otherwise the provider is asked, which costs the operator: an account may do so
 * MXRAY_PEOPLE_DATA_PER_DAY times a UTC day.
 */
async function listPeople(s: Services, provider: PeopleProvider, accountId: string, domain: string, titles: string[] | undefined, limit: number, now: number): Promise<Person[]> {
  const wanted = titles?.length ? [...new Set(titles.map((t) => t.trim().toLowerCase()))].sort() : null;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify([domain, wanted, limit]))));
  const key = `people:${provider.name}:${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  const hit = await s.cache.get<Person[]>(key);
  if (hit) return hit;
  const day = Math.floor(now / DAY_MS);
  const perDay = s.config.MXRAY_PEOPLE_DATA_PER_DAY;
  const [quota, quotaTtlS] = [`people-quota:${accountId}:${day}`, (2 * DAY_MS) / 1000];
  if ((await s.cache.increment(quota, quotaTtlS)) > perDay) {
    const retryAfterS = Math.ceil(((day + 1) * DAY_MS - now) / 1000);
    throw new ServiceError("people_data_limit", `This account's ${perDay} decision-maker lookups for today are used (answers already looked up today are still free); more after midnight UTC`, retryAfterS);
  }
  let people: Person[];
  try {
    people = await provider.listPeople(domain, { titles: wanted ?? undefined, limit });
  } catch (e) {
    // A lookup the provider failed returned nothing (and is not billed): it is given back.
    await s.cache.increment(quota, quotaTtlS, -1).catch(() => undefined);
    throw e;
  }
  s.waitUntil(s.cache.set(key, people, PEOPLE_CACHE_S));
  return people;
}

function withoutAddress(answer: FindAnswer, address: string | null): FindAnswer {
  if (!address) return answer;
  const hidden = address.trim().toLowerCase();
  return { ...answer, candidates: answer.candidates.filter((c) => c.email.toLowerCase() !== hidden) };
}

function enrichedEvent(a: DecisionMakers): DmEnriched {
  return {
    domain: a.domain,
    provider: a.provider,
    people: a.people.map((p) => ({ full_name: p.full_name, title: p.title, email: p.find?.email ?? null, verdict: p.find?.verdict ?? null, confidence: p.find?.confidence ?? null })),
  };
}
