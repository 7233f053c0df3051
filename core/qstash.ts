// Mints the `Upstash-Signature` header QStash puts on every delivery: an HS256 JWT keyed with the
// raw signing-key string. Used by local runs and tests that stand in for QStash, so the probe's
// real verification path (the @upstash/qstash Receiver) is exercised unchanged. WebCrypto only.

export const QSTASH_SIGNATURE_HEADER = "upstash-signature";
export const DEFAULT_QSTASH_TTL_S = 300;

const encoder = new TextEncoder();

/** RFC 4648 §5 alphabet; `padded` keeps "=" as QStash's own signer does (the Receiver strips it). */
function base64url(bytes: Uint8Array, padded = false): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const b64 = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_");
  return padded ? b64 : b64.replace(/=+$/, "");
}

function base64urlJson(value: unknown): string {
  return base64url(encoder.encode(JSON.stringify(value)));
}

function randomJti(): string {
  return `jwt_${base64url(crypto.getRandomValues(new Uint8Array(16)))}`;
}

export interface SignQstashInput {
  signingKey: string;
  /** The destination URL exactly as QStash was asked to deliver to: the JWT's `sub`. */
  url: string;
  body: string;
  nowS?: number;
  ttlS?: number;
}

export async function signQstash(input: SignQstashInput): Promise<string> {
  const nowS = input.nowS ?? Math.floor(Date.now() / 1000);
  const bodyHash = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(input.body)));
  const header = base64urlJson({ alg: "HS256", typ: "JWT" });
  const claims = base64urlJson({
    iss: "Upstash",
    sub: input.url,
    exp: nowS + (input.ttlS ?? DEFAULT_QSTASH_TTL_S),
    nbf: nowS,
    iat: nowS,
    jti: randomJti(),
    body: base64url(bodyHash, true),
  });
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(input.signingKey),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${header}.${claims}`));
  return `${header}.${claims}.${base64url(new Uint8Array(mac))}`;
}

export type QstashHeaderFailure = "missing" | "malformed" | "mismatch" | "expired" | "wrong_url";

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*=*$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function jsonSegment(segment: string): Record<string, unknown> | null {
  const bytes = fromBase64url(segment);
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * What QStash's JWT says without the body: signed (HS256) by one of the keys, issued by Upstash,
 * for this URL, and not expired. A delivery that fails here can be refused before its body is
 * read. It passes nothing the Receiver would refuse except a token without `exp` (QStash always
 * sets one); the Receiver still checks everything, the body's hash included, once the body is read.
 */
export async function checkQstashHeader(
  keys: string[],
  token: string | null | undefined,
  url: string,
  nowS = Math.floor(Date.now() / 1000),
): Promise<{ ok: true } | { ok: false; error: QstashHeaderFailure }> {
  if (!token) return { ok: false, error: "missing" };
  const parts = token.split(".");
  if (token.length > 4096 || parts.length !== 3) return { ok: false, error: "malformed" };
  const [head, claims, mac] = parts as [string, string, string];
  const header = jsonSegment(head);
  const payload = jsonSegment(claims);
  const given = fromBase64url(mac);
  if (!header || !payload || !given || header.alg !== "HS256") return { ok: false, error: "malformed" };
  let signed = false;
  for (const key of keys.filter(Boolean)) {
    const hmac = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    if (await crypto.subtle.verify("HMAC", hmac, given, encoder.encode(`${head}.${claims}`))) signed = true;
  }
  if (!signed) return { ok: false, error: "mismatch" };
  if (payload.iss !== "Upstash" || typeof payload.body !== "string") return { ok: false, error: "malformed" };
  if (payload.sub !== url) return { ok: false, error: "wrong_url" };
  // The Receiver's own tests (jose, no clock tolerance): expired at exp, not valid before nbf.
  if (typeof payload.exp !== "number" || payload.exp <= nowS) return { ok: false, error: "expired" };
  if (payload.nbf !== undefined && (typeof payload.nbf !== "number" || payload.nbf > nowS)) return { ok: false, error: "expired" };
  return { ok: true };
}
