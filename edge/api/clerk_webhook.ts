// POST /webhooks/clerk: Clerk's signed events (Svix: Standard Webhooks, `svix-id`,
// `svix-timestamp`, `svix-signature` over "id.timestamp.body" under CLERK_WEBHOOK_SIGNING_SECRET),
// for what ends someone's access: a membership removed or re-roled, an organization or a user
// deleted. Each revokes the API keys the person can no longer hold (edge/identity/clerk.ts)
// and says so in the audit log, naming the request in Clerk that made the change. Svix retries anything but 2xx, so 2xx means "nothing more to do":
// applied, found already applied (a retry), or an event we do not act on. A bad signature or one
// outside ±5 minutes answers 400.
import type { Hono } from "hono";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { z } from "zod";
import { readRequestLimited } from "../../core/limitedbody.ts";
import { roleFromClerk } from "../../core/roles.ts";
import type { Services } from "../context.ts";
import { changeClerkRole, endClerkMembership, endClerkOrganization, endClerkUser, type ClerkOutcome } from "../identity/clerk.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

/** Clerk's events carry one object (a user with its addresses is the largest): far below this. */
export const MAX_CLERK_EVENT_BYTES = 256 * 1024;

const id = z.string().min(1).max(200);

/** The fields of Clerk's documented payloads we act on (OrganizationMembershipJSON, DeletedObjectJSON). */
const Membership = z.object({
  role: z.string().max(200),
  organization: z.object({ id }),
  public_user_data: z.object({ user_id: id }),
});
const Deleted = z.object({ id });
const Attributes = z
  .object({ http_request: z.object({ client_ip: z.string().max(100).nullish(), user_agent: z.string().nullish() }).partial().nullish() })
  .partial()
  .nullish();
const Envelope = z.object({ type: z.string().max(200), data: z.unknown(), event_attributes: Attributes });

export function registerClerkWebhook(app: Hono<AppEnv>): void {
  app.post("/webhooks/clerk", async (c) => {
    const s = c.var.services;
    const secret = s.config.CLERK_WEBHOOK_SIGNING_SECRET;
    if (!secret) throw new ApiError("not_configured", "Clerk webhooks are not configured here (CLERK_WEBHOOK_SIGNING_SECRET)");
    const read = await readRequestLimited(c.req.raw, MAX_CLERK_EVENT_BYTES);
    if (!read.ok) throw new ApiError("payload_too_large", `At most ${MAX_CLERK_EVENT_BYTES} bytes`);
    const raw = new TextDecoder().decode(read.bytes);
    const eventId = c.req.header("svix-id") ?? "";
    let payload: unknown;
    try {
      payload = new Webhook(secret).verify(raw, { "webhook-id": eventId, "webhook-timestamp": c.req.header("svix-timestamp") ?? "", "webhook-signature": c.req.header("svix-signature") ?? "" });
    } catch (err) {
      if (err instanceof SyntaxError) throw new ApiError("invalid_json", "The body is not JSON");
      if (!(err instanceof WebhookVerificationError)) throw err;
      if (/timestamp too (old|new)/i.test(err.message)) throw new ApiError("webhook_timestamp_stale", "Signed more than 5 minutes away from now; a replay is refused");
      throw new ApiError("webhook_signature_invalid", "The svix-signature header does not match this body and CLERK_WEBHOOK_SIGNING_SECRET");
    }
    const event = Envelope.safeParse(payload);
    if (!event.success) throw new ApiError("validation_failed", "The body is not a Clerk event");
    // The audit log names the request in Clerk that made the change; svix-id is the same for each retry of one event.
    const http = event.data.event_attributes?.http_request;
    const fromClerk = { ...s, request: { ip: http?.client_ip ?? null, userAgent: http?.user_agent ?? null, requestId: eventId.slice(0, 200) } };
    const outcome = await apply(fromClerk, event.data.type, event.data.data);
    return c.json({ received: true, type: event.data.type, outcome });
  });
}

async function apply(s: Services, type: string, data: unknown): Promise<ClerkOutcome | "ignored"> {
  switch (type) {
    case "organizationMembership.deleted": {
      const m = parse(Membership, data, type);
      return endClerkMembership(s, { orgId: m.organization.id, userId: m.public_user_data.user_id });
    }
    case "organizationMembership.updated": {
      const m = parse(Membership, data, type);
      return changeClerkRole(s, { orgId: m.organization.id, userId: m.public_user_data.user_id, role: roleFromClerk(m.role) });
    }
    case "organization.deleted":
      return endClerkOrganization(s, parse(Deleted, data, type).id);
    case "user.deleted":
      return endClerkUser(s, parse(Deleted, data, type).id);
    default:
      // Memberships appear here when the person first acts in the organization (their session
      // token names it and its role), so creations need no event.
      return "ignored";
  }
}

function parse<T>(schema: z.ZodType<T>, data: unknown, type: string): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new ApiError("validation_failed", `${type}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}
