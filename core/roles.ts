// Who may do what in an account. Shared by the edge (which enforces it) and the web app (which
// hides what a role cannot use). Personal accounts have one owner.
export const ROLES = ["owner", "admin", "member"] as const;
export type Role = (typeof ROLES)[number];

export type Permission =
  /** Create and revoke API keys. */
  | "keys:manage"
  /** See the credit balance and buy credits. */
  | "billing:view"
  /** Turn auto top-up on or off: it charges the saved card without asking. */
  | "billing:manage"
  /** Cancel (delete) jobs. */
  | "jobs:delete"
  /** Add members to a team and change their roles. */
  | "team:manage"
  /** Read the audit log: who did what in the account. */
  | "audit:view"
  /** Create, start, pause, resume and cancel campaigns: mail to the account's lists in its name. */
  | "campaigns:send";

const GRANTS: Record<Role, readonly Permission[]> = {
  owner: ["keys:manage", "billing:view", "billing:manage", "jobs:delete", "team:manage", "audit:view", "campaigns:send"],
  // Like API keys, which only they make: the API sends campaigns for any key of the account.
  admin: ["keys:manage", "billing:view", "jobs:delete", "team:manage", "audit:view", "campaigns:send"],
  // Members verify: upload lists, run checks, watch jobs and download results; they see campaigns.
  member: [],
};

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

/** Clerk organization roles ("org:admin", "org:member", custom "org:owner") to ours. */
export function roleFromClerk(orgRole: string | undefined | null): Role {
  const name = (orgRole ?? "").replace(/^org:/, "");
  return name === "owner" ? "owner" : name === "admin" ? "admin" : "member";
}
