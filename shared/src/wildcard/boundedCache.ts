/**
 * A least-recently-used map with a hard entry limit, for compiled matchers and expressions that
 * are rebuilt from request text on every admission: bounded so that a stream of distinct
 * patterns cannot grow memory (docs/benchmarks.md, RSS flat under distinct inputs).
 */
export class BoundedCache<K, V> {
  readonly #max: number;
  readonly #entries = new Map<K, V>();

  /** @param max the entry limit (at least 1). */
  constructor(max: number) {
    this.#max = Math.max(1, Math.floor(max));
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached value, refreshed as most recently used; computed with `create` on a miss. */
  getOrCreate(key: K, create: (key: K) => V): V {
    const entries = this.#entries;
    if (entries.has(key)) {
      const value = entries.get(key) as V;
      entries.delete(key);
      entries.set(key, value);
      return value;
    }
    const value = create(key);
    entries.set(key, value);
    if (entries.size > this.#max) {
      // Map iteration order is insertion order, so the first key is the least recently used.
      const oldest = entries.keys().next();
      if (oldest.done !== true) entries.delete(oldest.value);
    }
    return value;
  }
}
