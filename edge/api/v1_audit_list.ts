// GET /api/v1/audit: the account's audit log, newest first, in cursor pages, optionally one action
// (or every action of an object: `job.`) or one actor. Any key of the account reads it: keys are
// made by owners and admins, the roles that read /audit.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { AUDIT_ACTIONS, listAudit } from "../audit/audit.ts";
import type { AppEnv } from "./app.ts";
import { whoOf } from "./auth.ts";
import { COMMON_ERRORS, errorResponse, pageOf, pageQuery } from "./schemas.ts";

const AuditEntrySchema = z
  .object({
    id: z.number().int().openapi({ description: "Increases with each entry written" }),
    action: z.enum(AUDIT_ACTIONS),
    actor: z.string().openapi({ description: "A user id, an API key id (`key_…`), `dev_key`, `stripe` or `system`" }),
    target: z.string().nullable().openapi({ description: "What was acted on: a job, key, member, webhook or Stripe object id" }),
    detail: z.record(z.string(), z.unknown()).nullable(),
    ip: z.string().nullable().openapi({ description: "The client's address as Cloudflare saw it" }),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable().openapi({ description: "The request's `x-request-id`" }),
    created_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("AuditEntry");

const route = createRoute({
  method: "get",
  path: "/api/v1/audit",
  operationId: "listAuditEntries",
  summary: "List audit log entries, newest first",
  description: "Who did what in the account: sign-ins, keys, members, jobs, billing and webhooks, with the request's address and id.",
  tags: ["Account"],
  security: [{ bearer: [] }],
  request: {
    query: pageQuery("Entries").extend({
      action: z
        .string()
        .max(64)
        .regex(/^[a-z_]+\.([a-z_]+)?$/)
        .optional()
        .openapi({ description: "One action (`job.created`), or every action of an object (`job.`)" }),
      actor: z.string().max(100).optional().openapi({ description: "Only this actor's entries" }),
    }),
  },
  responses: {
    200: { description: "A page of audit entries", content: { "application/json": { schema: pageOf(AuditEntrySchema) } } },
    400: errorResponse("A `limit` out of range, a malformed `action`, or a cursor not from this API (`validation_failed`)"),
    ...COMMON_ERRORS,
  },
});

export function registerAuditList(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    return c.json(await listAudit(c.var.services, whoOf(c), c.req.valid("query")), 200);
  });
}
