// Mail providers by MX host name: big providers rate-limit a sending IP across all their MX hosts
// and all the domains they host, so budgets and deferrals are kept per provider, not per host.

/** Known providers by MX suffix. Anything else is grouped by the MX host's registrable domain. */
const KNOWN: [suffix: string, provider: string][] = [
  ["google.com", "google"],
  ["googlemail.com", "google"],
  ["protection.outlook.com", "microsoft"],
  ["outlook.com", "microsoft"],
  ["hotmail.com", "microsoft"],
  ["yahoodns.net", "yahoo"],
  ["mail.icloud.com", "apple"],
  ["zoho.com", "zoho"],
  ["zoho.eu", "zoho"],
  ["mimecast.com", "mimecast"],
  ["pphosted.com", "proofpoint"],
  ["messagelabs.com", "broadcom"],
  ["yandex.net", "yandex"],
  ["mail.ru", "mailru"],
  ["gmx.net", "united-internet"],
  ["web.de", "united-internet"],
  ["ionos.com", "united-internet"],
];

/** Second-level labels under country codes that are registries, not registrants (mx.x.co.uk). */
const REGISTRY_SLD = /^(co|com|net|org|ac|gov|edu|ne|or|go)$/;

export function providerOf(mxHost: string): string {
  const host = mxHost.toLowerCase().replace(/\.$/, "");
  for (const [suffix, provider] of KNOWN) {
    if (host === suffix || host.endsWith(`.${suffix}`)) return provider;
  }
  const labels = host.split(".");
  const keep = labels.length >= 3 && labels.at(-1)!.length === 2 && REGISTRY_SLD.test(labels.at(-2)!) ? 3 : 2;
  return labels.slice(-keep).join(".");
}

/** What a probe (one IP) may ask of a provider while it is not deferring: connections and RCPTs
 *  a minute, and sessions open at once across all its MX hosts and all the batches in flight. */
export interface ProviderBudget {
  connectionsPerMinute: number;
  rcptsPerMinute: number;
  maxOpen: number;
}

/** Published guidance and common practice for bulk senders, kept well under what they tolerate. */
export const PROVIDER_BUDGETS: Record<string, ProviderBudget> = {
  google: { connectionsPerMinute: 60, rcptsPerMinute: 1_200, maxOpen: 8 },
  microsoft: { connectionsPerMinute: 60, rcptsPerMinute: 1_200, maxOpen: 8 },
  yahoo: { connectionsPerMinute: 30, rcptsPerMinute: 600, maxOpen: 4 },
  apple: { connectionsPerMinute: 30, rcptsPerMinute: 600, maxOpen: 4 },
};

/** What any other provider gets once it has deferred us (until then, only the per-host limits). */
export const DEFERRED_BUDGET: ProviderBudget = { connectionsPerMinute: 30, rcptsPerMinute: 600, maxOpen: 2 };
