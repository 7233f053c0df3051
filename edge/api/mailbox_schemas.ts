// Schemas of the bounce mailbox operations (edge/api/v1_bounce_mailboxes_*.ts). The answers' shapes
// are the bounces capability's views (edge/bounces/mailboxviews.ts), named here for the OpenAPI document.
import { z } from "@hono/zod-openapi";
import { MAX_FOLDER_LENGTH, MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH } from "../bounces/mailboxes.ts";
import { MailboxSecuritySchema, MailboxTestResultSchema, MailboxViewSchema } from "../bounces/mailboxviews.ts";
import { errorResponse } from "./schemas.ts";

export const MailboxSchema = MailboxViewSchema.openapi("BounceMailbox");
export const MailboxTestSchema = MailboxTestResultSchema.openapi("BounceMailboxTest", {
  description: "How far the probe got with the mailbox (`connect`, `tls`, `auth`, `folder`, or `done` when the folder opened), the server's last words, and the folder's message count; nothing was read or changed",
  example: { ok: true, stage: "done", detail: "INBOX opened: 12 messages", messages: 12 },
});

export const MailboxIdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "bmx_0d3kq8zp1m0avw2xbycd" }) });

const folder = z.string().min(1).max(MAX_FOLDER_LENGTH);
const fields = {
  name: z.string().min(1).max(100).openapi({ example: "Bounces at Fastmail", description: "Default: `{username} on {host}`" }),
  host: z.string().min(1).max(253).openapi({
    example: "imap.fastmail.com",
    description: "A host name or an IP address on the public internet (no loopback, private, link-local or internal name such as `localhost` or `*.internal`)",
  }),
  port: z.number().int().min(1).max(65_535).openapi({ example: 993, description: "Default: 993 for `tls`, 143 for `starttls` and `none`" }),
  security: MailboxSecuritySchema,
  username: z.string().min(1).max(MAX_USERNAME_LENGTH).openapi({ example: "bounces@news.example.com" }),
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH).openapi({ example: "app-password-for-mxray", description: "Stored encrypted and never returned (`has_password`). An app password, where the provider offers them" }),
  folder: folder.openapi({ example: "INBOX", description: "The folder read for bounces (default `INBOX`)" }),
  processed_folder: folder.nullable().openapi({
    example: "mxray-processed",
    description: "Where messages recognised as ours are moved (default `mxray-processed`); null: they stay and are flagged `$MxrayProcessed`. Not the folder read",
  }),
};

export const MailboxCreateSchema = z
  .object({ ...fields, name: fields.name.optional(), port: fields.port.optional(), folder: fields.folder.optional(), processed_folder: fields.processed_folder.optional() })
  .strict()
  .openapi("BounceMailboxCreate", {
    example: { name: "Bounces at Fastmail", host: "imap.fastmail.com", security: "tls", username: "bounces@news.example.com", password: "app-password-for-mxray", folder: "INBOX", processed_folder: "mxray-processed" },
  });

export const MailboxUpdateSchema = z
  .object({
    name: fields.name.optional(),
    host: fields.host.optional(),
    port: fields.port.optional(),
    security: fields.security.optional(),
    username: fields.username.optional(),
    password: fields.password.optional().openapi({ description: "A string replaces it, absent keeps it" }),
    folder: fields.folder.optional(),
    processed_folder: fields.processed_folder.optional(),
  })
  .strict()
  .openapi("BounceMailboxUpdate", { example: { password: "the-new-app-password", processed_folder: null } });

export const MAILBOX_NOT_FOUND = { 404: errorResponse("No such bounce mailbox for this account (`not_found`)") } as const;
export const MAILBOX_REFUSED = errorResponse(
  "`validation_failed` (a bad body or field, e.g. `security: none`, a folder name with a line break, `processed_folder` the same as `folder`), or `host_not_allowed` (a loopback, private or internal host)",
);
