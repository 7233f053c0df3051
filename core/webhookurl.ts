// Where a webhook may be delivered. A customer names the URL and we POST to it from our network,
// so a URL aimed at our own side (loopback, private ranges, cloud metadata) would be a
// server-side request forgery. The WHATWG URL parser normalises the host first (decimal, octal
// and hex IPv4 forms, IPv4-mapped IPv6), so the check sees the address fetch() will dial.
// Host names are not resolved here (no DNS in the Worker's request path): docs/security.md.
import { addressScope } from "./netaddr.ts";

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export type WebhookUrlRule = "too_long" | "not_a_url" | "scheme" | "credentials" | "address_not_public" | "internal_host";

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; rule: WebhookUrlRule; message: string };

/** Names only a machine's own or a cloud's internal network may answer for. */
function internalName(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal") || host === "metadata" || host === "metadata.google.internal";
}

const refuse = (rule: WebhookUrlRule, message: string): WebhookUrlCheck => ({ ok: false, rule, message });

/**
 * `https:` to a public host; in local mode (`local`) also `http:`/`https:` to loopback
 * (localhost, 127.0.0.0/8, [::1]) so `npm start` can deliver to a receiver on the same machine.
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
  if (scope !== "invalid" && scope !== "public") return refuse("address_not_public", `The host is a ${scope.replace("_", "-")} address; deliveries go to public addresses only`);
  if (internalName(host)) return refuse("internal_host", `The host name ${host} is internal; deliveries go to public hosts only`);
  return { ok: true, url };
}
