// The verification cache (DESIGN.md §8), first tier: an in-process LRU keyed by policy version and
// digest, so a changed policy invalidates exactly its own entries the moment the new bundle is
// loaded, and a moved tag can never pass on a cached result (the key is the digest the tag resolves
// to now). Successes live --cacheTTLDurationSeconds, denials --negativeCacheTTLSeconds; a
// could-not-verify outcome is never cached. Concurrent misses for one key share one computation.
import { LRUCache } from 'lru-cache';

export const KEY_PREFIX = 'kna:v1';

export type CachedOutcome = 'verified' | 'skipped' | 'denied';

export interface Verdict {
  readonly outcome: CachedOutcome | 'could-not-verify';
  readonly digest: string;
  readonly reason: string;
  /** Set by the computation; a FailureKind or similar short tag. */
  readonly kind: string;
  readonly warnings: readonly string[];
  readonly verifiedAt: string;
}

export type CacheSource = 'l1' | 'shared-flight' | 'computed' | 'disabled';

export interface CacheOptions {
  /** --cacheEnabled */
  readonly enabled: boolean;
  /** --cacheMaxSize: a hard bound on entries. */
  readonly maxEntries: number;
  /** --cacheTTLDurationSeconds */
  readonly ttlSeconds: number;
  /** --negativeCacheTTLSeconds */
  readonly negativeTtlSeconds: number;
  /** Clock for TTLs (tests); default performance. */
  readonly clock?: { now(): number };
}

export function imageKey(policyVersion: string, digest: string): string {
  return `${KEY_PREFIX}:${policyVersion}:${digest}`;
}

export function attestationKey(policyVersion: string, digest: string, typeAndConditionsHash: string): string {
  return `${imageKey(policyVersion, digest)}:att:${typeAndConditionsHash}`;
}

export class VerdictCache {
  readonly #options: CacheOptions;
  readonly #lru: LRUCache<string, Verdict> | undefined;
  readonly #inflight = new Map<string, Promise<Verdict>>();
  #hits = 0;
  #misses = 0;

  constructor(options: CacheOptions) {
    this.#options = options;
    // TTL 0 would mean "never expires" to lru-cache; the flag's 0 means the same in the original.
    this.#lru =
      options.enabled && options.maxEntries > 0
        ? new LRUCache<string, Verdict>({ max: options.maxEntries, ...(options.clock && { perf: options.clock, ttlResolution: 0 }) })
        : undefined;
  }

  get size(): number {
    return this.#lru?.size ?? 0;
  }

  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Milliseconds to keep `verdict` (0 = until evicted), or undefined to not store it. */
  #ttlMs(verdict: Verdict): number | undefined {
    switch (verdict.outcome) {
      case 'could-not-verify':
        return undefined;
      case 'denied':
        return this.#options.negativeTtlSeconds > 0 ? this.#options.negativeTtlSeconds * 1000 : undefined;
      default:
        // As in the original, a TTL of 0 means "no expiry" and a negative one means "do not cache".
        if (this.#options.ttlSeconds < 0) return undefined;
        return this.#options.ttlSeconds * 1000;
    }
  }

  /**
   * The cached verdict for `key`, or the result of `compute` (shared with concurrent callers of the
   * same key), stored according to its outcome.
   */
  async getOrCompute(key: string, compute: () => Promise<Verdict>): Promise<{ verdict: Verdict; source: CacheSource }> {
    if (!this.#lru) return { verdict: await compute(), source: 'disabled' };
    const hit = this.#lru.get(key);
    if (hit) {
      this.#hits++;
      return { verdict: hit, source: 'l1' };
    }
    const flying = this.#inflight.get(key);
    if (flying) {
      this.#hits++;
      return { verdict: await flying, source: 'shared-flight' };
    }
    this.#misses++;
    const promise = compute();
    this.#inflight.set(key, promise);
    try {
      const verdict = await promise;
      const ttl = this.#ttlMs(verdict);
      if (ttl !== undefined) this.#lru.set(key, verdict, { ttl });
      return { verdict, source: 'computed' };
    } finally {
      this.#inflight.delete(key);
    }
  }

  clear(): void {
    this.#lru?.clear();
  }
}
