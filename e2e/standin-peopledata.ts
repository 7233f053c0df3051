// Loopback stand-ins for the two people-data providers behind decision makers (issue 14), for the
// Worker's tests: the real adapters (edge/adapters/peopledata.ts) talk to them as to the real APIs.
// Each keeps its API's side of the contract as documented:
//   People Data Labs  POST /v5/person/search, X-Api-Key, an Elasticsearch `query` (or `sql`) and a
//                     `size`; `{ status, data, total }`, records lower-cased unless `titlecase`;
//                     a search that matches nobody is a 404.
//   Apollo            POST /api/v1/mixed_people/api_search, X-Api-Key, filters as query parameters
//                     (`q_organization_domains_list[]`, `person_titles[]`, `per_page`); `{ people,
//                     total_entries }` with last names hidden (`last_name_obfuscated`), then
//                     POST /api/v1/people/bulk_match `{ details: [{ id }] }` (≤ 10) → `{ matches }`.
// Test hooks: a domain `status-NNN.test` answers NNN; GET /_calls lists what was asked, oldest first.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface DirectoryPerson {
  id: string;
  domain: string;
  first_name: string;
  last_name: string;
  title: string;
  /** PDL's job_title_levels / Apollo's seniority. */
  level: string;
  linkedin: string;
  email: string | null;
}

/** Who works where, as both providers know it. */
export const DEFAULT_DIRECTORY: DirectoryPerson[] = [
  { id: "p1", domain: "acme.test", first_name: "Ada", last_name: "Lovelace", title: "Chief Executive Officer (CEO)", level: "cxo", linkedin: "linkedin.com/in/ada-lovelace", email: "ada@acme.test" },
  { id: "p2", domain: "acme.test", first_name: "Grace", last_name: "Hopper", title: "Co-Founder & CTO", level: "owner", linkedin: "linkedin.com/in/grace-hopper", email: null },
  { id: "p3", domain: "acme.test", first_name: "Charles", last_name: "Babbage", title: "Head of Sales", level: "director", linkedin: "linkedin.com/in/charles-babbage", email: null },
  { id: "p4", domain: "acme.test", first_name: "Alan", last_name: "Turing", title: "Software Engineer", level: "senior", linkedin: "linkedin.com/in/alan-turing", email: "alan@acme.test" },
  { id: "p5", domain: "globex.test", first_name: "Hank", last_name: "Scorpio", title: "Founder & CEO", level: "owner", linkedin: "linkedin.com/in/hank-scorpio", email: null },
];

export interface StandInCall {
  path: string;
  /** The search's domain, as the request named it. */
  domain: string | null;
  titles: string[];
}

export interface StandInPeopleData {
  url: string;
  apiKey: string;
  calls: StandInCall[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

const matchesTitle = (p: DirectoryPerson, titles: string[]) => titles.length === 0 || titles.some((t) => p.title.toLowerCase().includes(t.toLowerCase()));
const hookStatus = (domain: string | null) => Number(/^status-(\d{3})\.test$/.exec(domain ?? "")?.[1] ?? 0);

async function serve(apiKey: string, calls: StandInCall[], handle: (req: IncomingMessage, url: URL, res: ServerResponse) => Promise<void>): Promise<StandInPeopleData> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://standin");
    if (req.method === "GET" && url.pathname === "/_calls") return send(res, 200, calls);
    try {
      await handle(req, url, res);
    } catch (e) {
      send(res, 500, { error: String(e) });
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, apiKey, calls, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const titleCase = (s: string) => s.replace(/\b\p{L}/gu, (c) => c.toUpperCase());

/** People Data Labs' Person Search, over `directory`. */
export function startStandInPdl(opts: { apiKey?: string; directory?: DirectoryPerson[] } = {}): Promise<StandInPeopleData> {
  const apiKey = opts.apiKey ?? "pdl-standin-key";
  const directory = opts.directory ?? DEFAULT_DIRECTORY;
  const calls: StandInCall[] = [];
  return serve(apiKey, calls, async (req, url, res) => {
    if (req.method !== "POST" || url.pathname !== "/v5/person/search") return send(res, 404, { status: 404, error: { type: "not_found", message: "No such endpoint" } });
    if (req.headers["x-api-key"] !== apiKey) return send(res, 401, { status: 401, error: { type: "authentication_error", message: "Invalid API key" } });
    const body = (await readJson(req)) as Json | undefined;
    const query = body?.query as { bool?: { must?: Json[]; should?: Json[] } } | undefined;
    const size = body?.size;
    if (!body || (query === undefined) === (body.sql === undefined) || (size !== undefined && (!Number.isInteger(size) || (size as number) < 1 || (size as number) > 100))) {
      return send(res, 400, { status: 400, error: { type: "invalid_request_error", message: "Give either query or sql, and a size of 1 to 100" } });
    }
    // The stand-in understands the query shape the adapter sends: a term on the employer's
    // website and match_phrase clauses on the title.
    const domain = (query?.bool?.must ?? []).map((c) => (c.term as Json | undefined)?.job_company_website).find((d): d is string => typeof d === "string") ?? null;
    const titles = (query?.bool?.should ?? []).map((c) => (c.match_phrase as Json | undefined)?.job_title).filter((t): t is string => typeof t === "string");
    calls.push({ path: url.pathname, domain, titles });
    const status = hookStatus(domain);
    if (status) return send(res, status, { status, error: { type: "error", message: `answered ${status}` } });
    const found = directory.filter((p) => p.domain === domain && matchesTitle(p, titles));
    if (found.length === 0) return send(res, 404, { status: 404, error: { type: "not_found", message: "No records were found matching your search" } });
    const cased = (s: string) => (body.titlecase === true ? titleCase(s.toLowerCase()) : s.toLowerCase());
    const data = found.slice(0, (size as number | undefined) ?? 1).map((p) => ({
      id: `pdl_${p.id}`,
      full_name: cased(`${p.first_name} ${p.last_name}`),
      first_name: cased(p.first_name),
      last_name: cased(p.last_name),
      job_title: cased(p.title),
      job_title_levels: [p.level],
      job_company_website: p.domain,
      linkedin_url: p.linkedin,
      // PDL's free plans hide addresses as `true`: "we have one".
      work_email: p.email ?? false,
    }));
    send(res, 200, { status: 200, data, total: found.length, scroll_token: "1$0" });
  });
}

/** Apollo's People API Search and Bulk People Enrichment, over `directory`. */
export function startStandInApollo(opts: { apiKey?: string; directory?: DirectoryPerson[] } = {}): Promise<StandInPeopleData> {
  const apiKey = opts.apiKey ?? "apollo-standin-key";
  const directory = opts.directory ?? DEFAULT_DIRECTORY;
  const calls: StandInCall[] = [];
  return serve(apiKey, calls, async (req, url, res) => {
    if (req.headers["x-api-key"] !== apiKey) return send(res, 401, { error: "Invalid access credentials." });
    if (req.method === "POST" && url.pathname === "/api/v1/mixed_people/api_search") {
      const domains = url.searchParams.getAll("q_organization_domains_list[]");
      const titles = url.searchParams.getAll("person_titles[]");
      const perPage = Number(url.searchParams.get("per_page") ?? 10);
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) return send(res, 422, { error: "per_page must be 1 to 100" });
      calls.push({ path: url.pathname, domain: domains[0] ?? null, titles });
      const status = hookStatus(domains[0] ?? null);
      if (status) return send(res, status, { error: `answered ${status}` });
      const found = directory.filter((p) => domains.includes(p.domain) && matchesTitle(p, titles));
      const people = found.slice(0, perPage).map((p) => ({
        id: `apl_${p.id}`,
        first_name: p.first_name,
        last_name_obfuscated: `${p.last_name[0]}***${p.last_name.at(-1)}`,
        title: p.title,
        has_email: p.email !== null,
        organization: { name: p.domain },
      }));
      return send(res, 200, { total_entries: found.length, people });
    }
    if (req.method === "POST" && url.pathname === "/api/v1/people/bulk_match") {
      const body = (await readJson(req)) as { details?: unknown } | undefined;
      if (!Array.isArray(body?.details) || body.details.length === 0 || body.details.length > 10) return send(res, 422, { error: "details must hold 1 to 10 people" });
      calls.push({ path: url.pathname, domain: null, titles: [] });
      const matches = (body.details as { id?: unknown }[]).map((d) => {
        const p = directory.find((x) => `apl_${x.id}` === d.id);
        if (!p) return null;
        return {
          id: `apl_${p.id}`,
          first_name: p.first_name,
          last_name: p.last_name,
          name: `${p.first_name} ${p.last_name}`,
          title: p.title,
          seniority: p.level === "cxo" ? "c_suite" : p.level,
          linkedin_url: `http://www.${p.linkedin}`,
          // Apollo's placeholder when the address is not unlocked for this account.
          email: p.email ?? "email_not_unlocked@domain.com",
        };
      });
      return send(res, 200, { status: "success", matches, credits_consumed: matches.filter(Boolean).length });
    }
    send(res, 404, { error: "No such endpoint" });
  });
}
