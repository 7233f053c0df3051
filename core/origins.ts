// The web origins a publishable key may be used from (issue 25), as a browser names them in its
// `Origin` header (RFC 6454 §6.1: scheme "://" host [":" port], the default port left out). An
// allowed origin is `https://host[:port]`, `http://` only for a loopback host (a site tried on
// the developer's machine), or `https://*.example.com[:port]`: any subdomain of a registrable
// domain (never of a public suffix such as `co.uk` or `github.io`, where strangers own the
// subdomains; the domain itself is listed on its own). No paths, queries or other wildcards.
import { parse as parseDomain } from "tldts";
import { addressScope } from "./netaddr.ts";

/** Origins one key may list: a site, its staging copies and a local one fit many times over. */
export const MAX_KEY_ORIGINS = 20;
const MAX_ORIGIN_LENGTH = 300;

export type OriginCheck = { ok: true; origin: string } | { ok: false; message: string };

const refuse = (raw: string, why: string): OriginCheck => ({ ok: false, message: `${raw}: ${why}` });

function loopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host.endsWith(".localhost") || addressScope(host) === "loopback";
}

/** One allowed origin as a person types it, normalised (lower case, A-labels, no default port). */
export function parseAllowedOrigin(input: string): OriginCheck {
  const raw = input.trim();
  if (raw.length === 0 || raw.length > MAX_ORIGIN_LENGTH) return refuse(raw.slice(0, 60), "not an origin such as https://www.example.com");
  const wildcard = /^https:\/\/\*\./i.test(raw);
  // Without its "*.", a wildcard is parsed as the host it stands under.
  const text = (wildcard ? `https://${raw.slice("https://*.".length)}` : raw).replace(/\/$/, "");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse(raw, "not an origin such as https://www.example.com");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return refuse(raw, "only https: origins (or http: for localhost) are allowed");
  if (url.username || url.password || url.pathname !== "/" || url.search || url.hash || /[?#]/.test(text)) {
    return refuse(raw, "an origin has no path, query or user name: only scheme, host and port, such as https://www.example.com");
  }
  if (url.hostname.includes("*")) return refuse(raw, "the only wildcard allowed is a leading *. for subdomains, such as https://*.example.com");
  if (url.protocol === "http:" && (wildcard || !loopbackHost(url.hostname))) return refuse(raw, "http: is allowed for localhost and loopback addresses only; use https:");
  if (wildcard) {
    const name = parseDomain(url.hostname, { allowPrivateDomains: true, extractHostname: false });
    if (name.isIp || !name.domain) return refuse(raw, `*. must stand under a registrable domain, not under the public suffix ${url.hostname}`);
    return { ok: true, origin: `https://*.${url.host}` };
  }
  return { ok: true, origin: url.origin };
}

/** A key's list as typed (one per line, or separated by commas or spaces), normalised and deduplicated. */
export function parseAllowedOrigins(input: string | readonly string[]): { ok: true; origins: string[] } | { ok: false; message: string } {
  const items = (typeof input === "string" ? input.split(/[\s,]+/) : input).map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) return { ok: false, message: "list at least one origin, such as https://www.example.com" };
  const origins: string[] = [];
  for (const item of items) {
    const got = parseAllowedOrigin(item);
    if (!got.ok) return got;
    if (!origins.includes(got.origin)) origins.push(got.origin);
  }
  if (origins.length > MAX_KEY_ORIGINS) return { ok: false, message: `a key lists at most ${MAX_KEY_ORIGINS} origins` };
  return { ok: true, origins };
}

/**
 * Whether a request's `Origin` header is on a key's list: the same origin exactly, or a
 * subdomain (at any depth) of a `*.` entry with the same scheme and port. "null" (an opaque
 * origin: a sandboxed frame, a file) is on no list.
 */
export function originAllowed(allowed: readonly string[], header: string | null | undefined): boolean {
  if (!header || header === "null") return false;
  let origin: URL;
  try {
    origin = new URL(header);
  } catch {
    return false;
  }
  // A browser sends the serialised origin exactly; anything else (a path, upper case) is not one.
  if (origin.origin !== header) return false;
  for (const entry of allowed) {
    if (!entry.startsWith("https://*.")) {
      if (entry === origin.origin) return true;
      continue;
    }
    const base = new URL(`https://${entry.slice("https://*.".length)}`);
    if (origin.protocol === "https:" && origin.port === base.port && origin.hostname.endsWith(`.${base.hostname}`)) return true;
  }
  return false;
}
