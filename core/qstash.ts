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
