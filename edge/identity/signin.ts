// Guards of the sign-in page: where to go back to afterwards, and whether the local (email-only,
// passwordless) sign-in may answer at all. Pure functions of the request and the config.
import { localMode, type Config } from "../config.ts";

/** Control characters, whitespace (Unicode too) and backslashes: browsers strip or turn them into "/". */
const UNSAFE = /[\u0000-\u001f\u007f\\\s]/u;

/** The string with percent-escapes undone (twice over, for double encoding); null if malformed. */
function decoded(s: string): string | null {
  try {
    return decodeURIComponent(decodeURIComponent(s));
  } catch {
    return null;
  }
}

/**
 * A path on this origin to go back to after signing in, or `fallback`. `next` is resolved
 * against the origin and must stay on it; anything a browser might read as another host is
 * refused: `//host`, `/\host`, `/%09/host`, dot segments that collapse to `//host`, schemes.
 */
export function safeNext(next: string | null | undefined, origin: string, fallback = "/dashboard"): string {
  if (!next || next.length > 2_000 || !next.startsWith("/")) return fallback;
  const plain = decoded(next);
  if (plain === null || UNSAFE.test(next) || UNSAFE.test(plain)) return fallback;
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return fallback;
  }
  if (url.origin !== new URL(origin).origin) return fallback;
  const path = url.pathname + url.search + url.hash;
  // "/.//evil.com" resolves to the path "//evil.com", which a browser reads as a host.
  return path.startsWith("//") || (decoded(path) ?? "//").startsWith("//") ? fallback : path;
}

/** Exactly this machine by name: localhost, [::1], or an IPv4 address in 127.0.0.0/8. */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "[::1]") return true;
  // URL has already normalised IPv4 forms ("127.1", "0x7f.0.0.1") to dotted decimal.
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255) && m[1] === "127";
}

/**
 * The local sign-in trusts any email, so it answers only when the Worker runs on this machine
 * (MXRAY_MODE=local) and, unless MXRAY_LOCAL_SIGNIN=allow, only to a loopback host name. A
 * deployment never answers, whatever Host a proxy or a rebinding DNS name sends.
 */
export function localSignInAllowed(requestUrl: string, config: Config): boolean {
  if (!localMode(config)) return false;
  return config.MXRAY_LOCAL_SIGNIN === "allow" || isLoopbackHost(new URL(requestUrl).hostname);
}
