// The account's rules (issue 25, core/rules.ts): read and replaced here; edge/rules owns the
// accounts.rules column. Stored as JSON, null when they are the defaults, so an account that never
// set any follows the defaults as they are documented. Acts for someone: `(services, who, input)`.
// Names only the parts of the Services it uses: a campaign's snapshot (edge/campaigns/snapshot.ts),
// which Node tools import too, reads the rules through here.
import { eq } from "drizzle-orm";
import { DEFAULT_RULES, parseRules, RULE_NAMES, RulesSchema, type Rules } from "../../core/rules.ts";
import { accounts } from "../../db/schema.ts";
import { recordAudit, type AuditServices } from "../audit/audit.ts";
import type { EdgeDb } from "../db.ts";
import { ServiceError } from "../errors.ts";
import type { Who } from "../who.ts";

/** The account's rules, for work that reads them on its behalf (exports, a campaign's snapshot). */
export async function rulesOf(db: EdgeDb, accountId: string): Promise<Rules> {
  const [row] = await db.select({ rules: accounts.rules }).from(accounts).where(eq(accounts.id, accountId));
  if (!row) throw new ServiceError("not_found", "No such account");
  return parseRules(row.rules);
}

export const getRules = (s: { db: EdgeDb }, who: Who): Promise<Rules> => rulesOf(s.db, who.accountId);

/** Input checked as the API checks it: `field: what is wrong`, with the stable code validation_failed. */
export function validRules(input: unknown): Rules {
  const parsed = RulesSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.map(String).join(".") || "rules"}: ${i.message}`);
  throw new ServiceError("validation_failed", issues.join("; "));
}

const sameRules = (a: Rules, b: Rules) => RULE_NAMES.every((k) => a[k] === b[k]);

/**
 * Replaces the account's rules with `input` (every field; one left out takes its default) and
 * audits what they were and became. Exports, filters and single checks follow at once; a campaign
 * already sending keeps the rules it began with.
 */
export async function putRules(s: AuditServices, who: Who, input: unknown, now = Date.now()): Promise<Rules> {
  const after = validRules(input);
  const before = await getRules(s, who);
  const stored = sameRules(after, DEFAULT_RULES) ? null : JSON.stringify(after);
  const [row] = await s.db.update(accounts).set({ rules: stored }).where(eq(accounts.id, who.accountId)).returning({ rules: accounts.rules });
  if (!row) throw new ServiceError("not_found", "No such account");
  if (!sameRules(before, after)) await recordAudit(s, who, { action: "rules.updated", target: who.accountId, detail: { before, after } }, now);
  return parseRules(row.rules);
}
