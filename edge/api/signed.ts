// Reading a probe-signed JSON body (core/signing.ts): size, signature, JSON, schema, in order.
// The size cap holds while the body streams in, so a chunked or mislabelled body is cut off at
// maxBytes before the signature is even looked at.
import type { Context } from "hono";
import type { z } from "zod";
import { readRequestLimited } from "../../core/limitedbody.ts";
import { SIGNATURE_HEADER, verifySignature } from "../../core/signing.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

export async function readSignedJson<S extends z.ZodType>(c: Context<AppEnv>, schema: S, maxBytes: number): Promise<z.infer<S>> {
  const read = await readRequestLimited(c.req.raw, maxBytes);
  if (!read.ok) throw new ApiError("payload_too_large", `At most ${maxBytes} bytes`);
  const body = new TextDecoder().decode(read.bytes);
  const route = { method: c.req.method, path: c.req.path };
  const signed = await verifySignature([c.var.services.config.PROBE_SECRET], c.req.header(SIGNATURE_HEADER), route, body);
  if (!signed.ok) throw new ApiError("bad_signature", `Probe signature ${signed.error}`);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ApiError("invalid_json", "The body is not JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError("validation_failed", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  return parsed.data;
}
