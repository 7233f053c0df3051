// A size-bounded map with an optional time to live: least recently used entries go first. The
// probe's per-domain state (DNS answers, catch-all answers, typo fixes) lives in these so that a
// list of a million domains costs no more memory than one of a thousand (issue 9, item 6).

export interface BoundedCacheOptions {
  maxEntries: number;
  now?: () => number;
}

export class BoundedCache<K, V> {
  private readonly map = new Map<K, { value: V; expires: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: BoundedCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  get(key: K): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    if (hit.expires <= this.now()) return undefined;
    this.map.set(key, hit); // Map keeps insertion order: re-inserting marks it recently used
    return hit.value;
  }

  /** ttlMs omitted: kept until evicted for room. */
  set(key: K, value: V, ttlMs?: number): void {
    this.map.delete(key);
    this.map.set(key, { value, expires: ttlMs === undefined ? Number.POSITIVE_INFINITY : this.now() + ttlMs });
    if (this.map.size > this.opts.maxEntries) this.map.delete(this.map.keys().next().value as K);
  }

  /** Live values, without touching their recency (for stats). */
  *values(): IterableIterator<V> {
    const now = this.now();
    for (const { value, expires } of this.map.values()) if (expires > now) yield value;
  }

  get size(): number {
    return this.map.size;
  }
}
