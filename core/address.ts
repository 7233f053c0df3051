// Address syntax for verification: RFC 5321 §4.1.2 mailboxes (what an SMTP envelope may carry),
// RFC 6531 internationalised local parts, IDN domains as A-labels. Comments and folding
// white space are RFC 5322 only and never valid in an envelope.

export type ParsedAddress =
  | { ok: true; local: string; domain: string; unicodeDomain: string; normalized: string; smtputf8: boolean }
  | { ok: false; reason: "invalid_syntax" | "domain_literal"; detail: string };

// RFC 5321 §4.5.3.1: local part 64 octets, domain 255, path 256 including "<>" → address 254.
export const MAX_LOCAL_OCTETS = 64;
export const MAX_DOMAIN_OCTETS = 255;
export const MAX_ADDRESS_OCTETS = 254;
export const MAX_LABEL_OCTETS = 63;

const encoder = new TextEncoder();
// UTF-8 length; ASCII (nearly every address) needs no encoding pass.
const octets = (s: string) => (NON_ASCII.test(s) ? encoder.encode(s).length : s.length);

// atext (RFC 5322 §3.2.3) plus UTF8-non-ascii (RFC 6531 §3.3).
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uFFFF]+$/u;
const CONTROL = /[\u0000-\u001f\u007f]/;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Format characters (Unicode Cf: soft hyphen, zero-width space, word joiner, BOM, bidi controls…)
 * are invisible, and IDNA drops some of them from a domain: a cell full of them would normalise
 * short yet travel long (issue 10). They are removed before an address is read, except the
 * joiners ZWNJ/ZWJ in a domain, which some scripts' IDNs need (IDNA's CONTEXTJ rules judge them).
 */
const FORMAT = /\p{Cf}/gu;
const FORMAT_BUT_JOINERS = /(?![\u200c\u200d])\p{Cf}/gu;

const ANY_FORMAT = /\p{Cf}/u;

export function stripInvisible(address: string): string {
  // ASCII has no format characters, and the plain class test is 4× cheaper than the property test.
  if (!NON_ASCII.test(address) || !ANY_FORMAT.test(address)) return address;
  const at = address.lastIndexOf("@");
  if (at < 0) return address.replace(FORMAT, "");
  return `${address.slice(0, at).replace(FORMAT, "")}@${address.slice(at + 1).replace(FORMAT_BUT_JOINERS, "")}`;
}

/** A list cell or request field as an address: invisible characters dropped, white space around it trimmed. */
export const cleanAddress = (cell: string) => stripInvisible(cell).trim();

const invalid = (detail: string): ParsedAddress => ({ ok: false, reason: "invalid_syntax", detail });

function isDotString(s: string): boolean {
  return s.length > 0 && s.split(".").every((atom) => atom.length > 0 && ATEXT.test(atom));
}

/** Quoted-string content per RFC 5321 §4.1.2: qtextSMTP or quoted-pairSMTP (%d32-126). */
function unquote(q: string): string | null {
  let out = "";
  for (let i = 1; i < q.length - 1; i++) {
    const c = q[i]!;
    if (c === "\\") {
      const next = q[++i];
      // quoted-pairSMTP is a backslash and one printable ASCII character (%d32-126).
      if (next === undefined || i === q.length - 1 || !/^[\x20-\x7e]$/.test(next)) return null;
      out += next;
    } else if (c === '"' || CONTROL.test(c)) {
      return null;
    } else {
      out += c;
    }
  }
  return out;
}

/** The shortest form of a local part: bare when it is a dot-string, else quoted and escaped. */
function canonicalLocal(content: string): string {
  if (isDotString(content)) return content;
  return `"${content.replace(/(["\\])/g, "\\$1")}"`;
}

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

function toALabels(domain: string): string | null {
  if (!NON_ASCII.test(domain)) return domain.toLowerCase();
  try {
    // WHATWG URL applies UTS-46 mapping and Punycode; the LDH check afterwards rejects what a
    // URL host may hold but a mail domain may not (underscores, IPv4 numbers…).
    return new URL(`http://${domain}/`).hostname;
  } catch {
    return null;
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX16 = /^[0-9a-f]{1,4}$/i;

/** RFC 5321 §4.1.3 IPv6 forms: full (8 groups), comp ("::" for at least two groups, at most 6
 *  written), and both again with a trailing IPv4 (6 and 4 groups). */
function isIpv6Literal(s: string): boolean {
  let body = s;
  let max = 8;
  const lastColon = s.lastIndexOf(":");
  if (IPV4.test(s.slice(lastColon + 1))) {
    body = s.slice(0, lastColon + 1) + "0"; // stand-in group keeps the colon structure
    max = 7;
  }
  const halves = body.split("::");
  if (halves.length > 2) return false;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  if (halves.length === 1) {
    const g = groups(body);
    return g.length === max && g.every((x) => HEX16.test(x));
  }
  const [a, b] = [groups(halves[0]!), groups(halves[1]!)];
  const written = a.length + b.length;
  return [...a, ...b].every((x) => HEX16.test(x)) && written <= max - 2;
}

/** RFC 5321 §4.1.3 address literal content (between the brackets). */
function isAddressLiteral(content: string): boolean {
  if (IPV4.test(content)) return true;
  // General-address-literal needs a tag registered with IANA (§4.1.3); only "IPv6" is.
  return /^IPv6:/i.test(content) && isIpv6Literal(content.slice(5));
}

export function parseAddress(input: string): ParsedAddress {
  // Strict: surrounding white space is FWS, which an envelope cannot carry. Callers that read
  // user lists trim cells before they get here (cleanAddress).
  const address = stripInvisible(input);
  // As given, too: the probe is sent the address as written, so that must fit a path as well.
  if (octets(address) > MAX_ADDRESS_OCTETS) return invalid("address longer than 254 octets");
  if (CONTROL.test(address)) return invalid("control character");
  if (/\s/.test(address.replace(/"[^"]*"/g, ""))) return invalid("white space outside a quoted string");
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return invalid("missing local part or domain");
  const rawLocal = address.slice(0, at);
  const rawDomain = address.slice(at + 1);

  if (rawDomain.startsWith("[")) {
    if (!rawDomain.endsWith("]") || !isAddressLiteral(rawDomain.slice(1, -1))) return invalid("malformed address literal");
    return { ok: false, reason: "domain_literal", detail: "address literals are not verified" };
  }

  let local: string;
  if (rawLocal.startsWith('"') && rawLocal.endsWith('"') && rawLocal.length >= 2) {
    const content = unquote(rawLocal);
    if (content === null) return invalid("bad quoted string");
    local = canonicalLocal(content);
  } else {
    if (!isDotString(rawLocal)) return invalid("local part is not a dot-string");
    local = rawLocal;
  }
  if (octets(rawLocal) > MAX_LOCAL_OCTETS) return invalid("local part longer than 64 octets");

  const domain = toALabels(rawDomain);
  if (domain === null || domain.length === 0) return invalid("domain is not a valid host name");
  if (domain.length > MAX_DOMAIN_OCTETS) return invalid("domain longer than 255 octets");
  const labels = domain.split(".");
  if (labels.length < 2) return invalid("domain needs at least two labels");
  for (const label of labels) {
    if (label.length > MAX_LABEL_OCTETS) return invalid("domain label longer than 63 octets");
    if (!LDH_LABEL.test(label)) return invalid(`domain label "${label}" is not letters, digits and hyphens`);
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) return invalid("top-level domain is numeric");

  const full = `${local}@${domain}`;
  if (octets(full) > MAX_ADDRESS_OCTETS) return invalid("address longer than 254 octets");
  return {
    ok: true,
    local,
    domain,
    unicodeDomain: rawDomain.toLowerCase(),
    normalized: `${local.toLowerCase()}@${domain}`,
    smtputf8: NON_ASCII.test(local),
  };
}

/**
 * The key an address is stored under everywhere (a job's `normalized`, the suppression list, a
 * bounce): its normalised form, or, for text that is no address, the cleaned text lower-cased, as
 * ingest keys such rows.
 */
export function addressKey(input: string): string {
  const cleaned = cleanAddress(input);
  const parsed = parseAddress(cleaned);
  return parsed.ok ? parsed.normalized : cleaned.toLowerCase();
}
