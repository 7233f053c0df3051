// HMAC-SHA256 request signing on WebCrypto, so the Worker and the probe run the same code.
// Header: `X-Mxray-Signature: t=<unix seconds>,v2=<hex hmac of "<t>\n<METHOD>\n<path>\n<body>">`
// (Stripe's shape: the timestamp inside the MAC stops replays outside the tolerance window; the
// method and route path inside it stop a signed request being replayed to another route). The
// path is the route the receiver matches on (e.g. "/internal/probes/results"), never a query.
// Newlines separate the parts because a path cannot hold a raw one. The unbound v1 form is
// refused: the probe and the edge upgrade together.

export const SIGNATURE_HEADER = "x-mxray-signature";
export const DEFAULT_TOLERANCE_S = 300;

/** What a signature is bound to besides its body. */
export interface SignedRoute {
  method: string;
  path: string;
}

const encoder = new TextEncoder();

async function hmacHex(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

const signedText = (t: number, route: SignedRoute, body: string) => `${t}\n${route.method.toUpperCase()}\n${route.path}\n${body}`;

export async function sign(secret: string, route: SignedRoute, body: string, nowS = Math.floor(Date.now() / 1000)) {
  return `t=${nowS},v2=${await hmacHex(secret, signedText(nowS, route, body))}`;
}

/** Equal strings, in time that depends on their length only (compare digests of equal length). */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** "outdated": only the unbound v1 MAC is present (a peer not yet upgraded). */
export type VerifyFailure = "missing" | "malformed" | "outdated" | "expired" | "mismatch";

/** Checks a signature for this method, route and body against any of the secrets (current and next, for rotation). */
export async function verifySignature(
  secrets: string[],
  header: string | null | undefined,
  route: SignedRoute,
  body: string,
  nowS = Math.floor(Date.now() / 1000),
  toleranceS = DEFAULT_TOLERANCE_S,
): Promise<{ ok: true } | { ok: false; error: VerifyFailure }> {
  if (!header) return { ok: false, error: "missing" };
  const parts = Object.fromEntries(
    header.split(",").map((kv) => {
      const i = kv.indexOf("=");
      return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
    }),
  );
  const t = Number(parts.t);
  if (!parts.v2 && parts.v1) return { ok: false, error: "outdated" };
  if (!Number.isInteger(t) || !parts.v2 || !/^[0-9a-f]{64}$/.test(parts.v2)) {
    return { ok: false, error: "malformed" };
  }
  if (Math.abs(nowS - t) > toleranceS) return { ok: false, error: "expired" };
  for (const secret of secrets.filter(Boolean)) {
    if (constantTimeEqual(await hmacHex(secret, signedText(t, route, body)), parts.v2)) return { ok: true };
  }
  return { ok: false, error: "mismatch" };
}
