// Schemas of the relay operations (edge/api/v1_relays_*.ts). The answers' shapes are the relays
// capability's views (edge/relays/views.ts), named here for the OpenAPI document.
import { z } from "@hono/zod-openapi";
import { RelaySecuritySchema, RelayTestResultSchema, RelayViewSchema } from "../relays/views.ts";
import { errorResponse } from "./schemas.ts";

export const RelaySchema = RelayViewSchema.openapi("Relay");
export const RelayTestSchema = RelayTestResultSchema.openapi("RelayTest", {
  description: "How far the probe got with the relay (`connect`, `tls`, `auth`, or `done` when it authenticated) and the relay's last reply; nothing was sent",
  example: { ok: true, stage: "done", detail: "235 2.7.0 Authentication successful", reply: { code: 235, enhanced: "2.7.0", message: "Authentication successful" } },
});

export const RelayIdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "rly_0d3kq8zp1m0avw2xbycd" }) });

const fields = {
  name: z.string().min(1).max(100).openapi({ example: "Postmark" }),
  host: z.string().min(1).max(255).openapi({
    example: "smtp.postmarkapp.com",
    description: "A host name or an IP address on the public internet (no loopback, private, link-local or internal name such as `localhost` or `*.internal`)",
  }),
  port: z.number().int().min(1).max(65_535).openapi({ example: 587, description: "Default: 587 for `starttls`, 465 for `tls`, 25 for `none`" }),
  security: RelaySecuritySchema,
  username: z.string().min(1).max(256).nullable().openapi({ example: "a1b2c3d4-server-token" }),
  password: z.string().min(1).max(1_024).nullable().openapi({ example: "a1b2c3d4-server-token", description: "Stored encrypted and never returned (`has_password`); give it with `username`, or neither" }),
  max_per_minute: z.number().int().min(1).max(100_000).openapi({ example: 100, description: "The relay's own limit: messages a minute, held across every probe" }),
  max_per_day: z.number().int().min(1).max(100_000_000).openapi({ example: 50_000, description: "Messages a day; at least `max_per_minute`" }),
};

export const RelayCreateSchema = z
  .object({ ...fields, port: fields.port.optional(), username: fields.username.optional(), password: fields.password.optional() })
  .strict()
  .openapi("RelayCreate", {
    example: { name: "Postmark", host: "smtp.postmarkapp.com", port: 587, security: "starttls", username: "a1b2c3d4-server-token", password: "a1b2c3d4-server-token", max_per_minute: 100, max_per_day: 50_000 },
  });

export const RelayUpdateSchema = z
  .object({
    name: fields.name.optional(),
    host: fields.host.optional(),
    port: fields.port.optional(),
    security: fields.security.optional(),
    username: fields.username.optional(),
    password: fields.password.optional().openapi({ description: "A string sets it, `null` clears it, absent keeps it" }),
    max_per_minute: fields.max_per_minute.optional(),
    max_per_day: fields.max_per_day.optional(),
  })
  .strict()
  .openapi("RelayUpdate", { example: { password: "the-new-token", max_per_minute: 200 } });

export const RELAY_NOT_FOUND = { 404: errorResponse("No such relay for this account (`not_found`)") } as const;
export const RELAY_REFUSED = errorResponse(
  "`validation_failed` (a bad body or field, e.g. a password with `security: none`, `max_per_day` below `max_per_minute`), or `host_not_allowed` (a loopback, private or internal host)",
);
