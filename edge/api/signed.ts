// Reading a probe-signed JSON body (core/signing.ts): size, signature, JSON, schema, in order.
import type { Context } from "hono";
import type { z } from "zod";
import { SIGNATURE_HEADER, verifySignature } from "../../core/signing.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

export async function readSignedJson<S extends z.ZodType>(c: Context<AppEnv>, schema: S, maxBytes: number): Promise<z.infer<S>> {
  if (Number(c.req.header("content-length")) > maxBytes) throw new ApiError("payload_too_large", `At most ${maxBytes} bytes`);
  const body = await c.req.text();
  if (body.length > maxBytes) throw new ApiError("payload_too_large", `At most ${maxBytes} bytes`);
  const signed = await verifySignature([c.var.services.config.PROBE_SECRET], c.req.header(SIGNATURE_HEADER), body);
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
