// HMAC-SHA256 request signing on WebCrypto, so the Worker and the probe run the same code.
// Header: `X-Mxray-Signature: t=<unix seconds>,v1=<hex hmac of "<t>.<body>">` (Stripe's shape:
// the timestamp inside the MAC stops replays outside the tolerance window).

export const SIGNATURE_HEADER = "x-mxray-signature";
export const DEFAULT_TOLERANCE_S = 300;

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

export async function sign(secret: string, body: string, nowS = Math.floor(Date.now() / 1000)) {
  return `t=${nowS},v1=${await hmacHex(secret, `${nowS}.${body}`)}`;
}

/** Equal strings, in time that depends on their length only (compare digests of equal length). */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export type VerifyFailure = "missing" | "malformed" | "expired" | "mismatch";

/** Checks a signature against any of the given secrets (current and next, for rotation). */
export async function verifySignature(
  secrets: string[],
  header: string | null | undefined,
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
  if (!Number.isInteger(t) || !parts.v1 || !/^[0-9a-f]{64}$/.test(parts.v1)) {
    return { ok: false, error: "malformed" };
  }
  if (Math.abs(nowS - t) > toleranceS) return { ok: false, error: "expired" };
  for (const secret of secrets.filter(Boolean)) {
    if (constantTimeEqual(await hmacHex(secret, `${t}.${body}`), parts.v1)) return { ok: true };
  }
  return { ok: false, error: "mismatch" };
}
