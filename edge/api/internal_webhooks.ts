// QStash's calls back to us for webhook deliveries (edge/adapters/webhookqueue.ts), both verified
// with QStash's signing keys (the JWT names this URL and the body's hash):
//   POST /internal/webhooks/deliver {delivery_id}: one attempt; 5xx when it must be retried, so
//     QStash retries (its own backoff), 2xx when the delivery is settled either way.
//   POST /internal/webhooks/failed: QStash's failure callback once its retries ran out; the
//     original body comes base64-encoded in `sourceBody`.
// Every probe holds QStash's signing keys too, so the body must also carry the Worker's own token
// for its delivery (edge/adapters/webhookqueue.ts): a probe host cannot make one.
import { Receiver } from "@upstash/qstash";
import type { Context, Hono } from "hono";
import { z } from "zod";
import { readRequestLimited } from "../../core/limitedbody.ts";
import { checkQstashHeader, QSTASH_SIGNATURE_HEADER } from "../../core/qstash.ts";
import { checkDeliveryCallbackToken } from "../adapters/webhookqueue.ts";
import { sessionSecrets } from "../config.ts";
import { attemptDelivery, giveUpDelivery } from "../webhooks/delivery.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

const MAX_BODY_BYTES = 256 * 1024;
const DeliverBody = z.object({ delivery_id: z.string().min(1).max(64), token: z.string().max(512).optional() });
const FailureBody = z.object({ sourceBody: z.string().max(MAX_BODY_BYTES) });

async function readQstashJson(c: Context<AppEnv>): Promise<unknown> {
  const { config, origin } = c.var.services;
  const keys = [config.QSTASH_CURRENT_SIGNING_KEY, config.QSTASH_NEXT_SIGNING_KEY].filter((k): k is string => Boolean(k));
  if (keys.length === 0) throw new ApiError("not_configured", "QStash signing keys are not configured here (QSTASH_CURRENT_SIGNING_KEY)");
  // Published to our public origin, so the JWT's `sub` names that URL, whatever host we are reached by.
  const url = `${origin}${c.req.path}`;
  const signature = c.req.header(QSTASH_SIGNATURE_HEADER);
  // Who signed, for which URL and until when, from the header alone: a forged call costs no body.
  const header = await checkQstashHeader(keys, signature, url);
  if (!header.ok) {
    await c.req.raw.body?.cancel().catch(() => {});
    throw new ApiError("bad_signature", `Upstash-Signature ${header.error}`);
  }
  const read = await readRequestLimited(c.req.raw, MAX_BODY_BYTES);
  if (!read.ok) throw new ApiError("payload_too_large", `At most ${MAX_BODY_BYTES} bytes`);
  const body = new TextDecoder().decode(read.bytes);
  const receiver = new Receiver({ currentSigningKey: keys[0]!, nextSigningKey: keys[1] ?? keys[0]! });
  const valid = await receiver.verify({ signature: signature!, body, url }).catch(() => false);
  if (!valid) throw new ApiError("bad_signature", "The QStash signature does not verify");
  try {
    return JSON.parse(body);
  } catch {
    throw new ApiError("invalid_json", "The body is not JSON");
  }
}

/** The delivery the Worker itself asked for, or bad_signature: QStash's signature alone is not enough. */
async function publishedDelivery(c: Context<AppEnv>, body: z.infer<typeof DeliverBody>): Promise<string> {
  const ok = body.token !== undefined && (await checkDeliveryCallbackToken(sessionSecrets(c.var.services.config), body.delivery_id, body.token));
  if (!ok) throw new ApiError("bad_signature", "The message does not carry the Worker's token for this delivery");
  return body.delivery_id;
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError("validation_failed", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  return parsed.data;
}

export function registerWebhookCallbacks(app: Hono<AppEnv>): void {
  app.post("/internal/webhooks/deliver", async (c) => {
    const delivery_id = await publishedDelivery(c, parse(DeliverBody, await readQstashJson(c)));
    const outcome = await attemptDelivery(c.var.services, delivery_id);
    // "busy": another attempt holds the claim; asking again later is right.
    if (outcome === "retry" || outcome === "busy") return c.json({ outcome }, 503);
    return c.json({ outcome }, 200);
  });
  app.post("/internal/webhooks/failed", async (c) => {
    const { sourceBody } = parse(FailureBody, await readQstashJson(c));
    let source: unknown;
    try {
      source = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(sourceBody), (ch) => ch.charCodeAt(0))));
    } catch {
      throw new ApiError("validation_failed", "sourceBody: not base64 JSON");
    }
    await giveUpDelivery(c.var.services, await publishedDelivery(c, parse(DeliverBody, source)));
    return c.json({ ok: true }, 200);
  });
}
