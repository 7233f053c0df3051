// Domain and local-part lists: disposable services, free providers, role accounts. The data are
// snapshots of maintained npm lists (core/lists/update.ts); sets are built on first use.
import disposableData from "./lists/disposable.data.ts";
import freeData from "./lists/free.data.ts";
import roleData from "./lists/role.data.ts";

let disposable: Set<string> | undefined;
let free: Set<string> | undefined;
let role: Set<string> | undefined;

const asSet = (data: string) => new Set(data.split("\n"));

/** True for a listed domain or any subdomain of one (x.mailinator.com). */
export function isDisposable(domain: string): boolean {
  disposable ??= asSet(disposableData);
  const labels = domain.toLowerCase().replace(/\.$/, "").split(".");
  for (let i = 0; i < labels.length - 1; i++) {
    if (disposable.has(labels.slice(i).join("."))) return true;
  }
  return false;
}

export function isFree(domain: string): boolean {
  free ??= asSet(freeData);
  return free.has(domain.toLowerCase().replace(/\.$/, ""));
}

/** Role mailboxes (info@, support@, no-reply@…), ignoring case and a +tag. */
export function isRole(local: string): boolean {
  role ??= asSet(roleData);
  const base = local.toLowerCase().replace(/^"|"$/g, "").split("+")[0]!;
  return role.has(base) || role.has(base.replace(/[._]/g, "-"));
}
