// Small signed tokens: base64url(JSON claims) "." hex HMAC-SHA-256, keyed by purpose so a token
// made for one use (a session, a live socket) is worthless for another. Verified in constant time.
const encoder = new TextEncoder();

const b64url = (s: string) => btoa(String.fromCharCode(...encoder.encode(s))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64url = (s: string) => new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)));

async function mac(secret: string, purpose: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(`${purpose}:${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
  return Array.from(sig, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function signToken(secret: string, purpose: string, claims: object): Promise<string> {
  const payload = b64url(JSON.stringify(claims));
  return `${payload}.${await mac(secret, purpose, payload)}`;
}

/** The claims, if the token was signed with this secret for this purpose; null otherwise. */
export async function readToken<T>(secret: string, purpose: string, token: string): Promise<T | null> {
  const [payload, sig] = token.split(".");
  if (!payload || !sig || sig.length !== 64) return null;
  const expected = await mac(secret, purpose, payload);
  let diff = 0;
  for (let i = 0; i < 64; i++) diff |= expected.charCodeAt(i) ^ sig.charCodeAt(i);
  if (diff !== 0) return null;
  try {
    return JSON.parse(unb64url(payload)) as T;
  } catch {
    return null;
  }
}
