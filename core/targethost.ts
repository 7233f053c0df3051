// Which hosts a customer may point a probe at: a relay (SMTP) or a bounce mailbox (IMAP). A probe
// connects where such a record says, so it is a way to make our probes talk to any host:
// loopback, private and internal names are refused here (the probe checks the addresses a name
// resolves to again, before it connects), unless MXRAY_ALLOW_PRIVATE_TARGETS allows them (the
// local relay sink and IMAP server, private test networks).
import { addressScope, isPublicAddress } from "./netaddr.ts";

export type HostCheck = { ok: true; host: string } | { ok: false; code: "validation_failed" | "host_not_allowed"; message: string };

/** RFC 1123 §2.1: letters, digits and hyphens, not at either end, 1–63 octets. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Names that never lead to a host on the public internet: RFC 6761's `localhost`, RFC 6762's
 * `local` (mDNS), RFC 8375's `home.arpa`, the `internal` TLD reserved for private use (ICANN,
 * 2024; Google Cloud's metadata.google.internal), and the usual `localdomain`.
 */
const PRIVATE_SUFFIXES = ["localhost", "local", "internal", "home.arpa", "localdomain"];

/** The host as stored (lower case, no trailing dot, IPv6 without brackets), or why it is refused. */
export function checkTargetHost(input: string, allowPrivate: boolean): HostCheck {
  const raw = input.trim().toLowerCase();
  const bare = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  const scope = addressScope(bare);
  if (scope !== "invalid") {
    if (!allowPrivate && !isPublicAddress(bare)) return { ok: false, code: "host_not_allowed", message: `host: ${bare} is a ${scope.replace("_", "-")} address, not a public one` };
    return { ok: true, host: bare };
  }
  const host = raw.endsWith(".") ? raw.slice(0, -1) : raw;
  const labels = host.split(".");
  if (host.length === 0 || host.length > 253 || !labels.every((l) => LABEL.test(l))) {
    return { ok: false, code: "validation_failed", message: "host: not a host name (letters, digits, hyphens and dots; IDNs as xn--… A-labels) or an IP address" };
  }
  // A numeric last label is no TLD, and resolvers read names such as "10.0.0.010" or "2130706433"
  // as IPv4 addresses in other notations: refused outright rather than guessed at.
  if (/^\d+$/.test(labels.at(-1)!)) return { ok: false, code: "validation_failed", message: "host: a name whose last label is a number is not a host name; write an IPv4 address as four decimal parts" };
  if (allowPrivate) return { ok: true, host };
  if (labels.length === 1) return { ok: false, code: "host_not_allowed", message: `host: ${host} is a single-label name, which only resolves on a private network` };
  if (PRIVATE_SUFFIXES.some((s) => host === s || host.endsWith(`.${s}`))) return { ok: false, code: "host_not_allowed", message: `host: ${host} is a local or internal name, not one on the public internet` };
  return { ok: true, host };
}
