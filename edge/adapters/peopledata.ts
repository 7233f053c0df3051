// People-data providers behind one interface (issue 14): who works at a domain, with their titles,
// from People Data Labs or Apollo, each used only when its key is set (PDL first when both are).
// Their addresses are not trusted: our finder finds or verifies them. The real adapters call the
// documented APIs with fetch; PDL_API_URL / APOLLO_API_URL point them at the loopback stand-ins
// (e2e/standin-peopledata.ts). A provider's failure never carries its key or its raw answer.
import type { Config } from "../config.ts";
import { ServiceError } from "../errors.ts";

export interface Person {
  full_name: string;
  first_name: string;
  last_name: string;
  title: string | null;
  seniority: string | null;
  linkedin_url: string | null;
  /** The provider's own idea of the address, unverified; null when it gave none. */
  email: string | null;
}

export interface PeopleProvider {
  name: "pdl" | "apollo";
  listPeople(domain: string, opts: { titles?: string[] | undefined; limit: number }): Promise<Person[]>;
}

/** Who decides a purchase, when the caller names no titles. */
export const DEFAULT_TITLES = [
  "founder",
  "co-founder",
  "owner",
  "ceo",
  "cto",
  "cfo",
  "coo",
  "cmo",
  "president",
  "managing director",
  "head of sales",
  "vp sales",
  "head of marketing",
  "vp marketing",
] as const;

const PDL_URL = "https://api.peopledatalabs.com";
const APOLLO_URL = "https://api.apollo.io";
const REQUEST_TIMEOUT_MS = 15_000;
const RETRY_AFTER_S = 60;
/** Apollo's Bulk People Enrichment takes at most 10 people per call. */
const APOLLO_MATCH_BATCH = 10;

/** The provider chosen by the keys set, or null: the feature is off. */
export function peopleProvider(config: Config): PeopleProvider | null {
  if (config.PDL_API_KEY) return createPdlProvider({ apiKey: config.PDL_API_KEY, ...(config.PDL_API_URL ? { apiUrl: config.PDL_API_URL } : {}) });
  if (config.APOLLO_API_KEY) return createApolloProvider({ apiKey: config.APOLLO_API_KEY, ...(config.APOLLO_API_URL ? { apiUrl: config.APOLLO_API_URL } : {}) });
  return null;
}

/** `retryAfterS` undefined: asking again will not help until an operator acts. */
function unavailable(provider: string, why: string, retryAfterS: number | undefined, cause?: unknown): ServiceError {
  return new ServiceError("people_data_unavailable", `People data (${provider}) is unavailable right now: ${why}`, retryAfterS, cause === undefined ? undefined : { cause });
}

/** One JSON POST; HTTP failures become `people_data_unavailable` naming only the status. */
async function post(provider: string, url: string, apiKey: string, body: unknown, okStatuses: number[] = []): Promise<{ status: number; json: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "x-api-key": apiKey },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    throw unavailable(provider, e instanceof Error && e.name === "TimeoutError" ? "no answer in time" : "could not be reached", RETRY_AFTER_S, e);
  }
  if (!res.ok && !okStatuses.includes(res.status)) {
    await res.body?.cancel();
    if (res.status === 401 || res.status === 403) throw unavailable(provider, `our API key was refused (${res.status}); an operator must check it`, undefined);
    if (res.status === 402) throw unavailable(provider, "our plan's credits are used up (402)", undefined);
    if (res.status === 429) {
      const after = Number(res.headers.get("retry-after"));
      throw unavailable(provider, "rate limited (429)", Number.isInteger(after) && after > 0 ? after : RETRY_AFTER_S);
    }
    throw unavailable(provider, `it answered ${res.status}`, RETRY_AFTER_S);
  }
  try {
    return { status: res.status, json: await res.json() };
  } catch (e) {
    throw unavailable(provider, "its answer was not JSON", RETRY_AFTER_S, e);
  }
}

const text = (v: unknown): string | null => (typeof v === "string" && v.trim().length > 0 ? v.trim() : null);
/** Only something that looks like an address; providers put placeholders or `true` (hidden) there. */
const address = (v: unknown): string | null => {
  const s = text(v);
  return s && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s) && !s.startsWith("email_not_unlocked@") ? s.toLowerCase() : null;
};
/** Title-cased titles (PDL's `titlecase`) spell acronyms as words: "Founder & Ceo". */
const ACRONYMS = /\b(ceo|cto|cfo|coo|cmo|cro|cio|cpo|ciso|cso|vp|svp|evp|avp|hr|it|gm|md)\b/gi;
const titleOf = (v: unknown): string | null => text(v)?.replace(ACRONYMS, (w) => w.toUpperCase()) ?? null;
const records = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter((r): r is Record<string, unknown> => typeof r === "object" && r !== null) : []);

function person(r: { first: unknown; last: unknown; full: unknown; title: unknown; seniority: unknown; linkedin: unknown; email: unknown }): Person | null {
  const first = text(r.first);
  const last = text(r.last);
  if (!first || !last) return null;
  const linkedin = text(r.linkedin);
  return {
    full_name: text(r.full) ?? `${first} ${last}`,
    first_name: first,
    last_name: last,
    title: titleOf(r.title),
    seniority: text(r.seniority),
    linkedin_url: linkedin && !/^https?:\/\//.test(linkedin) ? `https://${linkedin}` : linkedin,
    email: address(r.email),
  };
}

/**
 * People Data Labs' Person Search (POST /v5/person/search, Elasticsearch query): people whose
 * current employer's website is the domain and whose title matches. A search that matches
 * nobody is a 404 there, an empty list here. Each record returned costs a PDL credit, so `size`
 * is the caller's limit.
 */
export function createPdlProvider(opts: { apiKey: string; apiUrl?: string }): PeopleProvider {
  const base = (opts.apiUrl ?? PDL_URL).replace(/\/+$/, "");
  return {
    name: "pdl",
    async listPeople(domain, { titles, limit }) {
      const wanted = titles?.length ? titles : DEFAULT_TITLES;
      const body = {
        query: {
          bool: {
            must: [{ term: { job_company_website: domain } }],
            should: wanted.map((t) => ({ match_phrase: { job_title: t.toLowerCase() } })),
            minimum_should_match: 1,
          },
        },
        size: limit,
        titlecase: true,
      };
      const { status, json } = await post("pdl", `${base}/v5/person/search`, opts.apiKey, body, [404]);
      if (status === 404) return [];
      const data = records((json as { data?: unknown }).data);
      return data
        .map((r) =>
          person({
            first: r.first_name,
            last: r.last_name,
            full: r.full_name,
            title: r.job_title,
            seniority: Array.isArray(r.job_title_levels) ? r.job_title_levels.find((l) => typeof l === "string") : null,
            linkedin: r.linkedin_url,
            email: r.work_email,
          }),
        )
        .filter((p): p is Person => p !== null)
        .slice(0, limit);
    },
  };
}

/**
 * Apollo's People API Search (POST /api/v1/mixed_people/api_search, filters as query
 * parameters): free, but it hides last names, so the people found are then matched by id with
 * Bulk People Enrichment (POST /api/v1/people/bulk_match, 10 a call) for their full names,
 * which costs Apollo credits. Personal emails are never asked for.
 */
export function createApolloProvider(opts: { apiKey: string; apiUrl?: string }): PeopleProvider {
  const base = (opts.apiUrl ?? APOLLO_URL).replace(/\/+$/, "");
  return {
    name: "apollo",
    async listPeople(domain, { titles, limit }) {
      const q = new URLSearchParams({ page: "1", per_page: String(limit) });
      q.append("q_organization_domains_list[]", domain);
      for (const t of titles?.length ? titles : DEFAULT_TITLES) q.append("person_titles[]", t);
      const { json } = await post("apollo", `${base}/api/v1/mixed_people/api_search?${q}`, opts.apiKey, {});
      const ids = records((json as { people?: unknown }).people)
        .map((p) => text(p.id))
        .filter((id): id is string => id !== null)
        .slice(0, limit);
      const out: Person[] = [];
      for (let i = 0; i < ids.length; i += APOLLO_MATCH_BATCH) {
        const details = ids.slice(i, i + APOLLO_MATCH_BATCH).map((id) => ({ id }));
        const matched = await post("apollo", `${base}/api/v1/people/bulk_match?reveal_personal_emails=false&reveal_phone_number=false`, opts.apiKey, { details });
        for (const m of records((matched.json as { matches?: unknown }).matches)) {
          const p = person({ first: m.first_name, last: m.last_name, full: m.name, title: m.title, seniority: m.seniority, linkedin: m.linkedin_url, email: m.email });
          if (p) out.push(p);
        }
      }
      return out;
    },
  };
}
