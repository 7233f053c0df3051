// A sender's domain against Gmail's and Yahoo's bulk-sender rules (issue 23), with the probe's own
// resolver: SPF, DKIM at the selector the customer names, DMARC and its policy, and an MX for the
// bounce domain. Each item says the name asked and the DNS answer seen, so the customer can see
// what to fix. It reads DNS only; it proves nothing about whether mail passes (the relay signs).
import { getDomain } from "tldts";
import type { SenderCheckAnswer } from "../../core/contracts.ts";
import type { Lookup, Resolver } from "../dns.ts";

type Item = SenderCheckAnswer["items"][number];
export interface SenderCheckInput {
  domain: string;
  dkim_selector: string | null;
  bounce_domain: string;
}

/** What an item keeps of the answer: a few records, each cut short. */
const MAX_SEEN = 10;
const MAX_RECORD = 512;
const seenOf = (records: string[]) => records.slice(0, MAX_SEEN).map((r) => (r.length > MAX_RECORD ? `${r.slice(0, MAX_RECORD - 1)}…` : r));

/** A lookup's records, or why there are none to read; `failed`: DNS could not tell. */
function answerOf(l: Lookup): { records: string[]; problem: string | null; failed: boolean } {
  if (!l.ok) return { records: [], problem: `the DNS lookup failed (${l.error}: ${l.detail})`, failed: true };
  return { records: l.records, problem: l.rcode === "NXDOMAIN" ? "the name does not exist" : null, failed: false };
}

/** Tag-value pairs (RFC 6376 §3.2, RFC 7489 §6.4): `v=DMARC1; p=none` → {v: "DMARC1", p: "none"}. */
function tags(record: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of record.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ""));
  }
  return out;
}

async function checkSpf(resolver: Resolver, domain: string): Promise<Item> {
  const { records, problem } = answerOf(await resolver.lookup(domain, "TXT"));
  const spf = records.filter((r) => /^v=spf1(\s|$)/i.test(r.trim()));
  const base = { check: "spf" as const, name: domain, seen: seenOf(records) };
  if (spf.length === 1) return { ...base, status: "pass", detail: "one SPF record" };
  // RFC 7208 §4.5: more than one v=spf1 record is a permanent error, as bad as none.
  if (spf.length > 1) return { ...base, status: "fail", detail: `${spf.length} SPF records: receivers treat more than one as an error (RFC 7208 §4.5); merge them into one` };
  return { ...base, status: "fail", detail: problem ?? `no SPF record (a TXT record starting "v=spf1") at ${domain}` };
}

async function checkDkim(resolver: Resolver, domain: string, selector: string | null): Promise<Item> {
  if (selector === null) {
    return { check: "dkim", status: "warn", name: `_domainkey.${domain}`, seen: [], detail: "name your selector (the s= of the DKIM-Signature your relay adds) so its key can be checked" };
  }
  const name = `${selector}._domainkey.${domain}`;
  const { records, problem } = answerOf(await resolver.lookup(name, "TXT"));
  const base = { check: "dkim" as const, name, seen: seenOf(records) };
  const keys = records.map(tags).filter((t) => t.has("p"));
  if (keys.some((t) => t.get("p")!.length > 0)) return { ...base, status: "pass", detail: `a DKIM key at selector ${selector}` };
  // RFC 6376 §3.6.1: an empty p= is a revoked key.
  if (keys.length > 0) return { ...base, status: "fail", detail: `the key at selector ${selector} is revoked (p= is empty)` };
  return { ...base, status: "fail", detail: problem ?? `no DKIM key (a TXT record with p=) at ${name}` };
}

/** The DMARC records at a name: exactly one counts (RFC 7489 §6.6.3 step 5). */
async function dmarcAt(resolver: Resolver, name: string) {
  const answer = answerOf(await resolver.lookup(name, "TXT"));
  return { ...answer, dmarc: answer.records.filter((r) => /^v=DMARC1\s*(;|$)/i.test(r.trim())) };
}

async function checkDmarc(resolver: Resolver, domain: string): Promise<Item> {
  let name = `_dmarc.${domain}`;
  let found = await dmarcAt(resolver, name);
  let policyTag = "p";
  // RFC 7489 §6.6.3: without a record at the domain, receivers use its organizational domain's
  // (sp= for its subdomains, else p=).
  const org = getDomain(domain);
  if (found.dmarc.length === 0 && !found.failed && org && org !== domain) {
    const orgName = `_dmarc.${org}`;
    const orgFound = await dmarcAt(resolver, orgName);
    if (orgFound.dmarc.length > 0) {
      name = orgName;
      found = orgFound;
      policyTag = tags(orgFound.dmarc[0]!).has("sp") ? "sp" : "p";
    }
  }
  const base = { check: "dmarc" as const, name, seen: seenOf(found.records) };
  if (found.dmarc.length > 1) return { ...base, status: "fail", detail: `${found.dmarc.length} DMARC records: receivers ignore them all (RFC 7489 §6.6.3); keep one` };
  if (found.dmarc.length === 0) return { ...base, status: "fail", detail: found.problem ?? `no DMARC record (a TXT record starting "v=DMARC1") at _dmarc.${domain}` };
  const policy = (tags(found.dmarc[0]!).get(policyTag) ?? "").toLowerCase();
  if (policy === "reject" || policy === "quarantine") return { ...base, status: "pass", detail: `DMARC policy ${policyTag}=${policy}` };
  if (policy === "none") return { ...base, status: "warn", detail: `DMARC policy ${policyTag}=none: Gmail and Yahoo accept it, but it protects nothing; move to quarantine or reject once your reports are clean` };
  return { ...base, status: "fail", detail: `the DMARC record has no valid policy (p=${policy || "missing"})` };
}

async function checkBounceMx(resolver: Resolver, bounceDomain: string): Promise<Item> {
  const { records, problem } = answerOf(await resolver.lookup(bounceDomain, "MX"));
  const base = { check: "bounce_mx" as const, name: bounceDomain, seen: seenOf(records) };
  const real = records.filter((r) => (r.split(" ")[1] ?? "") !== "");
  if (real.length > 0) return { ...base, status: "pass", detail: "the bounce domain has an MX: bounces can come back" };
  if (records.length > 0) return { ...base, status: "fail", detail: "the bounce domain has a null MX (RFC 7505): it takes no mail, so bounces are lost" };
  return { ...base, status: "fail", detail: problem ?? `no MX at ${bounceDomain}: bounces to it would be lost` };
}

export async function checkSender(resolver: Resolver, input: SenderCheckInput): Promise<SenderCheckAnswer> {
  const domain = input.domain.toLowerCase().replace(/\.$/, "");
  const items = await Promise.all([
    checkSpf(resolver, domain),
    checkDkim(resolver, domain, input.dkim_selector),
    checkDmarc(resolver, domain),
    checkBounceMx(resolver, input.bounce_domain.toLowerCase().replace(/\.$/, "")),
  ]);
  return { items };
}
