// Small signed tokens: base64url(JSON claims) "." hex HMAC-SHA-256, keyed by purpose so a token
// made for one use (a session, a live socket) is worthless for another. Verified in constant time.
const encoder = new TextEncoder();

const b64url = (s: string) => btoa(String.fromCharCode(...encoder.encode(s))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64url = (s: string) => new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)));

/** Imported once per (purpose, secret): a hot path (a million recipient tokens, a bounce report's) signs with few keys. */
const keys = new Map<string, Promise<CryptoKey>>();
const MAX_KEYS = 64;

function hmacKey(secret: string, purpose: string): Promise<CryptoKey> {
  const id = `${purpose}:${secret}`;
  let key = keys.get(id);
  if (!key) {
    if (keys.size >= MAX_KEYS) keys.clear(); // secrets rotate rarely; this only bounds a misuse
    key = crypto.subtle.importKey("raw", encoder.encode(id), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(id, key);
  }
  return key;
}

/** Hex HMAC-SHA-256 of `data` under `secret`, keyed by purpose so one use's MAC is worthless for another. */
export async function purposeMac(secret: string, purpose: string, data: string): Promise<string> {
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret, purpose), encoder.encode(data)));
  return Array.from(sig, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function signToken(secret: string, purpose: string, claims: object): Promise<string> {
  const payload = b64url(JSON.stringify(claims));
  return `${payload}.${await purposeMac(secret, purpose, payload)}`;
}

/** The claims, if the token was signed with this secret for this purpose; null otherwise. */
export async function readToken<T>(secret: string, purpose: string, token: string): Promise<T | null> {
  const [payload, sig] = token.split(".");
  if (!payload || !sig || sig.length !== 64) return null;
  const expected = await purposeMac(secret, purpose, payload);
  let diff = 0;
  for (let i = 0; i < 64; i++) diff |= expected.charCodeAt(i) ^ sig.charCodeAt(i);
  if (diff !== 0) return null;
  try {
    return JSON.parse(unb64url(payload)) as T;
  } catch {
    return null;
  }
}
