// Which IP addresses are on the public internet. The probe must never talk SMTP to loopback,
// private, link-local or metadata addresses on a stranger's say-so (an MX record is anyone's to
// write), and the edge will apply the same rule to webhook targets. Ranges from the IANA IPv4
// and IPv6 Special-Purpose Address Registries (RFC 6890 and successors).

export type AddressScope =
  | "public"
  | "unspecified" // 0.0.0.0/8, ::
  | "loopback" // 127/8, ::1
  | "private" // RFC 1918, IPv6 ULA fc00::/7 (holds AWS's fd00:ec2::254)
  | "shared" // 100.64/10, carrier-grade NAT (RFC 6598)
  | "link_local" // 169.254/16 (cloud metadata), fe80::/10
  | "multicast" // 224/4, ff00::/8
  | "documentation" // TEST-NETs, 2001:db8::/32, 3fff::/20
  | "reserved" // everything else that is not global unicast
  | "invalid"; // not an IP address at all

type Range = [prefix: number[], bits: number, scope: AddressScope];

const V4_RANGES: Range[] = [
  [[0], 8, "unspecified"],
  [[10], 8, "private"],
  [[100, 64], 10, "shared"],
  [[127], 8, "loopback"],
  [[169, 254], 16, "link_local"],
  [[172, 16], 12, "private"],
  [[192, 0, 0], 24, "reserved"], // IETF protocol assignments
  [[192, 0, 2], 24, "documentation"],
  [[192, 88, 99], 24, "reserved"], // former 6to4 relay anycast
  [[192, 168], 16, "private"],
  [[198, 18], 15, "reserved"], // benchmarking
  [[198, 51, 100], 24, "documentation"],
  [[203, 0, 113], 24, "documentation"],
  [[224], 4, "multicast"],
  [[240], 4, "reserved"], // includes 255.255.255.255
];

// Checked in order after the IPv4-embedding prefixes; global unicast is 2000::/3 only.
const V6_RANGES: Range[] = [
  [[0x20, 0x01, 0x0d, 0xb8], 32, "documentation"],
  [[0x20, 0x01], 23, "reserved"], // IETF protocol assignments, Teredo
  [[0x3f, 0xff], 20, "documentation"],
  [[0x20], 3, "public"],
  [[0xfc], 7, "private"],
  [[0xfe, 0x80], 10, "link_local"],
  [[0xff], 8, "multicast"],
];

function inRange(bytes: Uint8Array, prefix: number[], bits: number): boolean {
  for (let i = 0; i * 8 < bits; i++) {
    const take = Math.min(8, bits - i * 8);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[i]! & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** Dotted-quad IPv4, four decimal parts without leading zeros (no "0x7f.1", no "010.0.0.1"). */
export function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

/** RFC 4291 §2.2 text form, "::" and a trailing dotted quad included; a zone ("%eth0") is kept
 *  out of the address but makes no difference to its scope. */
export function parseIPv6(s: string): Uint8Array | null {
  const addr = s.split("%")[0]!;
  if (addr.length > 45) return null;
  let head = addr;
  let v4: Uint8Array | null = null;
  const lastColon = addr.lastIndexOf(":");
  if (addr.includes(".", lastColon)) {
    v4 = parseIPv4(addr.slice(lastColon + 1));
    if (!v4) return null;
    head = `${addr.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const written = left.length + right.length;
  if (halves.length === 1 ? written !== 8 : written > 7) return null;
  const all = [...left, ...Array<string>(8 - written).fill("0"), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  if (v4) out.set(v4, 12);
  return out;
}

function scopeV4(b: Uint8Array): AddressScope {
  for (const [prefix, bits, scope] of V4_RANGES) if (inRange(b, prefix, bits)) return scope;
  return "public";
}

function scopeV6(b: Uint8Array): AddressScope {
  const zeroTo = (n: number) => b.subarray(0, n).every((x) => x === 0);
  if (zeroTo(16)) return "unspecified";
  if (zeroTo(15) && b[15] === 1) return "loopback";
  // Addresses that carry an IPv4 address are as public as the address they carry: mapped
  // (::ffff:0:0/96), NAT64 well-known prefix (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16).
  if (zeroTo(10) && b[10] === 0xff && b[11] === 0xff) return scopeV4(b.subarray(12));
  if (inRange(b, [0, 0x64, 0xff, 0x9b], 32) && b.subarray(4, 12).every((x) => x === 0)) return scopeV4(b.subarray(12));
  if (inRange(b, [0x20, 0x02], 16)) return scopeV4(b.subarray(2, 6));
  for (const [prefix, bits, scope] of V6_RANGES) if (inRange(b, prefix, bits)) return scope;
  return "reserved"; // ::/8 (IPv4-compatible, NAT64 local use), 100::/64 discard, and the unassigned rest
}

/** The scope of an IP address in text form; "invalid" for anything else (a host name, say). */
export function addressScope(ip: string): AddressScope {
  const v4 = parseIPv4(ip);
  if (v4) return scopeV4(v4);
  const v6 = ip.includes(":") ? parseIPv6(ip) : null;
  return v6 ? scopeV6(v6) : "invalid";
}

export function isPublicAddress(ip: string): boolean {
  return addressScope(ip) === "public";
}
