// Reading a probe-signed JSON body (core/signing.ts): signature, size, body hash, JSON, schema,
// in order. The signature's header (shape, window, MAC over method, route and the body's hash)
// is checked before a byte of the body is read, so an unsigned or stale request costs no body;
// the size cap then holds while the body streams in, so a chunked or mislabelled body is cut
// off at maxBytes. Where a replay would matter, the nonce is claimed in the shared cache
// (SET NX EX) until the signature's window closes; a second use is 401 `replayed`.
import type { Context } from "hono";
import type { z } from "zod";
import { readRequestLimited } from "../../core/limitedbody.ts";
import { bodyMatches, checkSignatureHeader, nonceExpiresAtS, SIGNATURE_HEADER } from "../../core/signing.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

export interface SignedReadOptions {
  /** Refuse a second use of the same signature within its window (the nonce is remembered). */
  once?: boolean;
  /** Unix seconds (tests move it). */
  nowS?: number;
}

/** Where a claimed nonce lives in the edge's shared cache. */
export const nonceKey = (nonce: string) => `mxray:nonce:${nonce}`;

export async function readSignedJson<S extends z.ZodType>(c: Context<AppEnv>, schema: S, maxBytes: number, opts: SignedReadOptions = {}): Promise<z.infer<S>> {
  const s = c.var.services;
  const nowS = opts.nowS ?? Math.floor(Date.now() / 1000);
  const route = { method: c.req.method, path: c.req.path };
  const header = await checkSignatureHeader([s.config.PROBE_SECRET], c.req.header(SIGNATURE_HEADER), route, { nowS });
  if (!header.ok) {
    await c.req.raw.body?.cancel().catch(() => {});
    throw new ApiError("bad_signature", `Probe signature ${header.error}`);
  }
  if (opts.once) {
    // Kept until the signature would be refused as expired anyway (at most 2 × the tolerance).
    const ttlS = Math.max(1, nonceExpiresAtS(header.signed) - nowS + 1);
    // Without the cache a replay cannot be told apart: the probe asks again later (503).
    const fresh = await s.cache.claim(nonceKey(header.signed.nonce), ttlS).catch((e: unknown) => {
      throw new ApiError("unavailable", `Cannot record the signature's nonce: ${e instanceof Error ? e.message : String(e)}`);
    });
    if (!fresh) {
      await c.req.raw.body?.cancel().catch(() => {});
      throw new ApiError("replayed", "This signature was already used");
    }
  }
  const read = await readRequestLimited(c.req.raw, maxBytes);
  if (!read.ok) throw new ApiError("payload_too_large", `At most ${maxBytes} bytes`);
  if (!(await bodyMatches(header.signed, read.bytes))) throw new ApiError("bad_signature", "Probe signature mismatch");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(read.bytes));
  } catch {
    throw new ApiError("invalid_json", "The body is not JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError("validation_failed", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  return parsed.data;
}
