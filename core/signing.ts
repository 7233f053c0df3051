// HMAC-SHA256 request signing on WebCrypto, so the Worker and the probe run the same code.
// Header: `X-Mxray-Signature: t=<unix s>,n=<nonce>,b=<body hash>,v3=<hex HMAC>` where the MAC is
// over "<t>\n<n>\n<METHOD>\n<path>\n<b>" and b is the base64url SHA-256 of the body's bytes.
// - The timestamp inside the MAC stops replays outside the tolerance window (Stripe's shape); the
//   nonce, remembered by the receiver until the window closes, stops them inside it.
// - The method and route path inside it stop a signed request being replayed to another route.
//   The path is the route the receiver matches on (e.g. "/internal/probes/results"), never a
//   query. Newlines separate the parts because neither a path nor a nonce can hold one.
// - A request to one probe also names that probe (its PROBE_ID, "\n<audience>" at the end), so a
//   captured single check cannot be replayed to each other probe of the fleet within the window:
//   every probe's nonce memory is its own.
// - The body enters through its hash, carried in the header (as QStash's JWT carries it), so a
//   receiver checks who signed from the headers alone, before it reads or reserves room for a
//   body, and checks the body against the hash once read (issue 21).
// The older forms (v1 unbound, v2 without nonce or hash) are refused as `outdated`: the probe and
// the edge upgrade together.

export const SIGNATURE_HEADER = "x-mxray-signature";
export const DEFAULT_TOLERANCE_S = 300;

/** What a signature is bound to besides its body. */
export interface SignedRoute {
  method: string;
  path: string;
  /** The one receiver among many it is meant for: a probe's PROBE_ID (the edge is one receiver, so none). */
  audience?: string;
}

/** What a valid header vouches for: when, which nonce, and the hash the body must have. */
export interface SignedHeader {
  t: number;
  nonce: string;
  bodyHash: string;
}

const encoder = new TextEncoder();
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const BODY_HASH = /^[A-Za-z0-9_-]{43}$/;
const MAC = /^[0-9a-f]{64}$/;

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

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

/** base64url (unpadded) SHA-256 of the body's bytes; a string body counts as its UTF-8 bytes. */
export async function bodyHash(body: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** 128 random bits: two signatures never share a nonce. */
export function newNonce(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

const signedText = (s: SignedHeader, route: SignedRoute) =>
  `${s.t}\n${s.nonce}\n${route.method.toUpperCase()}\n${route.path}\n${s.bodyHash}${route.audience === undefined ? "" : `\n${route.audience}`}`;

export async function sign(secret: string, route: SignedRoute, body: string, nowS = Math.floor(Date.now() / 1000), nonce = newNonce()) {
  const signed: SignedHeader = { t: nowS, nonce, bodyHash: await bodyHash(body) };
  return `t=${signed.t},n=${signed.nonce},b=${signed.bodyHash},v3=${await hmacHex(secret, signedText(signed, route))}`;
}

/** Equal strings, in time that depends on their length only (compare digests of equal length). */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** "outdated": an older form (v1 or v2) without v3 (a peer not yet upgraded). */
export type VerifyFailure = "missing" | "malformed" | "outdated" | "expired" | "mismatch";

export interface CheckOptions {
  nowS?: number;
  toleranceS?: number;
}

/**
 * Checks everything a signature says that needs no body: its shape, its window, and its MAC for
 * this method and route under any of the secrets (current and next, for rotation). A request that
 * fails here can be refused before a byte of its body is read. The body is checked against
 * `bodyHash` once read (bodyMatches), and the nonce is the receiver's to remember.
 */
export async function checkSignatureHeader(
  secrets: string[],
  header: string | null | undefined,
  route: SignedRoute,
  opts: CheckOptions = {},
): Promise<{ ok: true; signed: SignedHeader } | { ok: false; error: VerifyFailure }> {
  const nowS = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (!header) return { ok: false, error: "missing" };
  if (header.length > 512) return { ok: false, error: "malformed" };
  const parts = Object.fromEntries(
    header.split(",").map((kv) => {
      const i = kv.indexOf("=");
      return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
    }),
  );
  if (!parts.v3 && (parts.v1 || parts.v2)) return { ok: false, error: "outdated" };
  const t = Number(parts.t);
  if (!/^\d{1,12}$/.test(parts.t ?? "") || !NONCE.test(parts.n ?? "") || !BODY_HASH.test(parts.b ?? "") || !MAC.test(parts.v3 ?? "")) {
    return { ok: false, error: "malformed" };
  }
  if (Math.abs(nowS - t) > (opts.toleranceS ?? DEFAULT_TOLERANCE_S)) return { ok: false, error: "expired" };
  const signed: SignedHeader = { t, nonce: parts.n!, bodyHash: parts.b! };
  for (const secret of secrets.filter(Boolean)) {
    if (constantTimeEqual(await hmacHex(secret, signedText(signed, route)), parts.v3!)) return { ok: true, signed };
  }
  return { ok: false, error: "mismatch" };
}

/** The body is the one the signature names. */
export async function bodyMatches(signed: SignedHeader, body: string | Uint8Array<ArrayBuffer>): Promise<boolean> {
  return constantTimeEqual(await bodyHash(body), signed.bodyHash);
}

/**
 * Header and body together, for receivers that hold the body already. It remembers no nonce:
 * where a replay matters, use checkSignatureHeader and claim its nonce (NonceMemory here, the
 * edge's shared cache there) before reading the body.
 */
export async function verifySignature(
  secrets: string[],
  header: string | null | undefined,
  route: SignedRoute,
  body: string | Uint8Array<ArrayBuffer>,
  nowS = Math.floor(Date.now() / 1000),
  toleranceS = DEFAULT_TOLERANCE_S,
): Promise<{ ok: true } | { ok: false; error: VerifyFailure }> {
  const checked = await checkSignatureHeader(secrets, header, route, { nowS, toleranceS });
  if (!checked.ok) return checked;
  return (await bodyMatches(checked.signed, body)) ? { ok: true } : { ok: false, error: "mismatch" };
}

/** How long a nonce must be remembered: until its signature would be refused as expired anyway. */
export function nonceExpiresAtS(signed: SignedHeader, toleranceS = DEFAULT_TOLERANCE_S): number {
  return signed.t + toleranceS;
}

/**
 * Nonces seen within their window, in one process's memory (the probe's single checks). Bounded:
 * when full of nonces still in their window it refuses to take more ("full"), never forgets one
 * early, since forgetting would let its request be replayed.
 */
export class NonceMemory {
  private readonly until = new Map<string, number>();
  constructor(readonly capacity: number) {}

  /** Whether the nonce was already claimed and is still in its window. */
  seen(nonce: string, nowS: number): boolean {
    const until = this.until.get(nonce);
    return until !== undefined && until >= nowS;
  }

  /** Claims the nonce until `untilS`: "fresh" the first time, "replayed" after. */
  claim(nonce: string, untilS: number, nowS: number): "fresh" | "replayed" | "full" {
    if (this.seen(nonce, nowS)) return "replayed";
    if (this.until.size >= this.capacity) this.forgetExpired(nowS);
    if (this.until.size >= this.capacity) return "full";
    this.until.set(nonce, untilS);
    return "fresh";
  }

  get size(): number {
    return this.until.size;
  }

  private forgetExpired(nowS: number): void {
    for (const [nonce, until] of this.until) if (until < nowS) this.until.delete(nonce);
  }
}
