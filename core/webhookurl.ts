// Where a webhook may be delivered. A customer names the URL and we POST to it from our network,
// so a URL aimed at our own side (loopback, private ranges, cloud metadata) would be a
// server-side request forgery. The WHATWG URL parser normalises the host first (decimal, octal
// and hex IPv4 forms, IPv4-mapped IPv6), so the check sees the address fetch() will dial.
// Host names are not resolved here (no DNS in the Worker's request path): docs/security.md.
// A name must be a registrable domain by the Public Suffix List's ICANN section (tldts), so
// single-label names (`https://instance-data/`, resolved through a search domain) and private
// suffixes (.lan, .local, .internal, .corp) are refused, and so is a bare suffix (`co.uk`). Only
// port 443: a customer's webhook has no business on our side's Redis or SMTP port.
import { parse as parseDomain } from "tldts";
import { addressScope } from "./netaddr.ts";

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export type WebhookUrlRule = "too_long" | "not_a_url" | "scheme" | "credentials" | "port" | "address_not_public" | "internal_host" | "not_registrable";

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; rule: WebhookUrlRule; message: string };

/** Names only a machine's own or a cloud's internal network may answer for. */
function internalName(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal") || host === "metadata" || host === "metadata.google.internal"
    // In the ICANN section, yet names of networks, not of the Internet: home.arpa (RFC 8375), reverse DNS.
    || host === "arpa" || host.endsWith(".arpa");
}

const refuse = (rule: WebhookUrlRule, message: string): WebhookUrlCheck => ({ ok: false, rule, message });

/**
 * `https:` on port 443 to a public address or a name under a registrable domain; in local mode
 * (`local`) also `http:`/`https:` on any port to loopback (localhost, 127.0.0.0/8, [::1]) so
 * `npm start` and the tests can deliver to a receiver on the same machine.
 */
export function checkWebhookUrl(raw: string, opts: { local: boolean }): WebhookUrlCheck {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return refuse("too_long", `The URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse("not_a_url", "Not an absolute URL");
  }
  if (url.username !== "" || url.password !== "") return refuse("credentials", "The URL must not carry a user name or password; authenticate with the signature instead");
  // A trailing dot names the same host ("localhost." is localhost).
  const host = url.hostname.replace(/\.+$/, "").toLowerCase();
  const ip = host.startsWith("[") ? host.slice(1, -1) : host;
  const scope = addressScope(ip);
  const loopback = scope === "loopback" || host === "localhost" || host.endsWith(".localhost");
  if (opts.local && loopback) {
    if (url.protocol === "https:" || url.protocol === "http:") return { ok: true, url };
    return refuse("scheme", "Only https: (or http: to loopback in local mode) URLs are allowed");
  }
  if (url.protocol !== "https:") return refuse("scheme", opts.local ? "Only https: URLs, or http: to loopback in local mode, are allowed" : "Only https: URLs are allowed");
  // The parser drops a default port, so "" is 443 whether written or not.
  if (url.port !== "") return refuse("port", `Port ${url.port} is not allowed; deliveries go to port 443 only`);
  if (scope !== "invalid" && scope !== "public") return refuse("address_not_public", `The host is a ${scope.replace("_", "-")} address; deliveries go to public addresses only`);
  if (scope === "public") return { ok: true, url };
  if (internalName(host)) return refuse("internal_host", `The host name ${host} is internal; deliveries go to public hosts only`);
  // The host is already an A-label (the URL parser applied IDNA), which the list matches too.
  const name = parseDomain(host, { extractHostname: false });
  if (!name.isIcann || !name.domain) {
    return refuse("not_registrable", `The host name ${host} is not under a registrable domain of the public suffix list; deliveries go to public hosts only`);
  }
  return { ok: true, url };
}
