// Upload ingest, pure: rows from the streaming list reader → syntax check, normalisation,
// case-insensitive dedupe and list flags → batches grouped by domain, so a probe can carry many
// recipients of one domain on one SMTP connection.
import { parseAddress } from "./address.ts";
import { AddressListReader, type ListRow } from "./emailfile.ts";
import { isDisposable, isFree, isRole } from "./lists.ts";

export interface IngestedAddress {
  /** Dedupe key: the normalised address, or the lower-cased input when it is not an address. */
  key: string;
  email: string;
  rowIndex: number;
  fields: string[];
  /** A-label domain; null when the syntax is invalid (such addresses need no probe). */
  domain: string | null;
  disposable: boolean;
  role: boolean;
  free: boolean;
}

export class Ingest {
  readonly reader = new AddressListReader();
  /** Rows with an address cell. */
  total = 0;
  unique = 0;
  invalid = 0;
  private seen = new Set<string>();
  /** Domain-level flags, looked up once per domain. */
  private domains = new Map<string, { disposable: boolean; free: boolean }>();

  private domainFlags(domain: string) {
    let flags = this.domains.get(domain);
    if (!flags) {
      flags = { disposable: isDisposable(domain), free: isFree(domain) };
      this.domains.set(domain, flags);
    }
    return flags;
  }

  push(text: string): IngestedAddress[] {
    return this.accept(this.reader.push(text));
  }

  end(): IngestedAddress[] {
    return this.accept(this.reader.end());
  }

  private accept(rows: ListRow[]): IngestedAddress[] {
    const out: IngestedAddress[] = [];
    for (const row of rows) {
      this.total++;
      const parsed = parseAddress(row.email);
      const key = parsed.ok ? parsed.normalized : row.email.toLowerCase();
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.unique++;
      if (!parsed.ok) this.invalid++;
      const flags = parsed.ok ? this.domainFlags(parsed.domain) : { disposable: false, free: false };
      out.push({
        key,
        email: row.email,
        rowIndex: row.index,
        fields: row.fields,
        domain: parsed.ok ? parsed.domain : null,
        disposable: flags.disposable,
        role: parsed.ok && isRole(parsed.local),
        free: flags.free,
      });
    }
    return out;
  }
}

/**
 * Packs addresses into batches of at most `maxSize`, keeping each domain together where it fits
 * (largest domains first, first fit), and splitting a domain larger than a batch.
 */
export function planBatches<T extends { domain: string | null }>(items: T[], maxSize: number): T[][] {
  const byDomain = new Map<string, T[]>();
  for (const item of items) {
    if (item.domain === null) continue;
    const list = byDomain.get(item.domain);
    if (list) list.push(item);
    else byDomain.set(item.domain, [item]);
  }
  const groups = [...byDomain.values()].sort((a, b) => b.length - a.length);
  const batches: T[][] = [];
  for (const group of groups) {
    for (let i = 0; i < group.length; i += maxSize) {
      const piece = group.slice(i, i + maxSize);
      const home = piece.length < maxSize ? batches.find((b) => b.length + piece.length <= maxSize) : undefined;
      if (home) home.push(...piece);
      else batches.push(piece);
    }
  }
  return batches;
}
