// Platform operators (issue 13): who may open /admin, the fleet and every account. Named by
// MXRAY_ADMIN_EMAILS, or, with Clerk, by the user's public metadata in the session token.
import type { Config } from "../config.ts";

/** An operator: named in MXRAY_ADMIN_EMAILS, or by Clerk's public metadata (`clerkOperator`). */
export function isOperator(config: Config, email: string | null | undefined, byClerk = false): boolean {
  return byClerk || (Boolean(email) && config.MXRAY_ADMIN_EMAILS.includes(email!.trim().toLowerCase()));
}

/**
 * Whether a Clerk session names an operator: the user's public metadata `{ "role": "operator" }`,
 * read from the session token (no call to Clerk per request). Clerk's default token has no
 * metadata: the instance adds it as the claim `metadata` ("Customize session token":
 * `{ "metadata": "{{user.public_metadata}}" }`); without it only MXRAY_ADMIN_EMAILS counts.
 */
export function clerkOperator(claims: Record<string, unknown>): boolean {
  const metadata = claims.metadata;
  return typeof metadata === "object" && metadata !== null && (metadata as Record<string, unknown>).role === "operator";
}
