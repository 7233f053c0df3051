// What the API answers and the app shows of relays, written once as zod schemas (field notes in
// `.meta()`, which the OpenAPI document shows). The password never leaves: only whether one is set.
import { z } from "zod";
import { RelayTestAnswerSchema } from "../../core/contracts.ts";
import { RELAY_SECURITIES } from "../../core/enums.ts";
import type { relays } from "../../db/schema.ts";

export type RelayRow = typeof relays.$inferSelect;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const RelaySecuritySchema = z.enum(RELAY_SECURITIES).meta({
  description: "`starttls`: plain connection upgraded with STARTTLS (RFC 3207), usually port 587; `tls`: TLS from the first byte (RFC 8314), usually 465; `none`: no TLS, never with a password (local relays only)",
});

export const RelayViewSchema = z.object({
  id: z.string().meta({ example: "rly_0d3kq8zp1m0avw2xbycd" }),
  name: z.string().meta({ example: "Postmark" }),
  host: z.string().meta({ example: "smtp.postmarkapp.com" }),
  port: z.number().int().meta({ example: 587 }),
  security: RelaySecuritySchema,
  username: z.string().nullable().meta({ example: "a1b2c3d4-server-token" }),
  has_password: z.boolean().meta({ description: "A password is stored (encrypted); it is never returned" }),
  max_per_minute: z.number().int().meta({ example: 100, description: "Messages a minute at most, across every probe" }),
  max_per_day: z.number().int().meta({ example: 50_000, description: "Messages a day at most, across every probe" }),
  tested_at: z.string().nullable().meta({ format: "date-time", description: "The last `POST /api/v1/relays/{id}/test`" }),
  test_ok: z.boolean().nullable(),
  test_detail: z.string().nullable().meta({ example: "235 2.7.0 Authentication successful" }),
  created_at: z.string().meta({ format: "date-time" }),
  updated_at: z.string().meta({ format: "date-time" }),
});
export type RelayView = z.infer<typeof RelayViewSchema>;

export function relayView(row: RelayRow): RelayView {
  return {
    id: row.id,
    name: row.name,
    host: row.host,
    port: row.port,
    security: row.security,
    username: row.username,
    has_password: row.password !== null,
    max_per_minute: row.maxPerMinute,
    max_per_day: row.maxPerDay,
    tested_at: iso(row.testedAt),
    test_ok: row.testOk,
    test_detail: row.testDetail,
    created_at: iso(row.createdAt)!,
    updated_at: iso(row.updatedAt)!,
  };
}

/** What a relay test answers: how far the probe got (connect, tls, auth, done) and the relay's last reply. */
export const RelayTestResultSchema = RelayTestAnswerSchema;
export type RelayTestResult = z.infer<typeof RelayTestResultSchema>;
