// Who acts, for which account. Its own module so that what sits below the Services (the audit
// log, which context.ts imports) can name it without importing context.ts.

/**
 * Who acts, for which account: every service that acts for a person or key takes
 * `(services, who, input)`. Where a request is behind it, `services.request` says from where.
 * Work nobody asked for (the sweeper, a probe's results, Stripe) runs as `systemWho(accountId)`.
 */
export interface Who {
  accountId: string;
  /** The audit log's actor: a user id, an API key id (`key_…`), `dev_key`, `clerk`, `stripe` or `system`. */
  actor: string;
}

export function systemWho(accountId: string): Who {
  return { accountId, actor: "system" };
}
