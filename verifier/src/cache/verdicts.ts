// The verification cache (docs/architecture.md "Caches and what they are keyed by"), first tier: an in-process LRU. A verdict is notation's answer
// for one image reference under one trust policy, so it is keyed by exactly what that answer depends on
// (docs/architecture.md "Caches and what they are keyed by"):
//
// - the policy version: a changed policy invalidates exactly its own entries the moment the new bundle is
//   loaded;
// - the canonical repository `<registry>/<repository>`: notation chooses the trust-policy statement by
//   registry scope and reads the signatures from that repository, so one digest in two repositories can
//   have two verdicts; a verdict for one repository must never answer for another;
// - the digest: a moved tag can never pass on a cached result (the key is what the tag resolves to now).
//
// Successes live --cacheTTLDurationSeconds, denials --negativeCacheTTLSeconds; a could-not-verify outcome
// is never cached. Concurrent misses for one key share one computation.
//
// With --redisURL a second tier (shared.ts) sits behind the LRU: an L1 miss asks Redis, and a miss
// there takes a cross-replica lock so one replica verifies while the others wait for its verdict.
import { canonicalRegistry } from '@kna/shared/image';
import { LRUCache } from 'lru-cache';
import { SingleFlight } from '../singleFlight.js';
import type { SharedTierObserver, SharedVerdictTier } from './shared.js';
import type { VerifyOutcome } from '../notation/classify.js';

const KEY_PREFIX = 'kna:v1';

/** One outcome type from notation to the answer: notation's verdict, a referrer's, an attestation's. */
export interface Verdict {
  readonly outcome: VerifyOutcome;
  readonly digest: string;
  readonly reason: string;
  /** Set by the computation; a FailureKind or similar short tag. */
  readonly kind: string;
  readonly warnings: readonly string[];
  readonly verifiedAt: string;
}

/** Where a verdict came from: L1, a concurrent computation in this process, L2 (Redis, found or waited for), a computation. */
export type CacheSource = 'l1' | 'shared-flight' | 'l2' | 'computed' | 'disabled';

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
  /** The Redis tier (--redisURL); absent = L1 only. */
  readonly shared?: SharedVerdictTier;
  /** Hits and misses by tier; the shared tier reports its own events. */
  readonly observer?: Pick<SharedTierObserver, 'lookup'>;
}

/** The repository a verdict is about: what notation is given as `<registry>/<repository>@<digest>`. */
export interface VerdictRepository {
  readonly registry: string;
  readonly repository: string;
}

/**
 * `kna:v1:<policyVersion>:<registry>/<repository>@<digest>`: the key of an image's (or a referrer's)
 * signature verdict, in L1 and in the shared tier. The registry is canonicalised here as well as at
 * parsing (idempotent), so two spellings of one repository can never make two keys, whoever calls this.
 */
export function imageKey(policyVersion: string, at: VerdictRepository, digest: string): string {
  return `${KEY_PREFIX}:${policyVersion}:${canonicalRegistry(at.registry)}/${at.repository}@${digest}`;
}

/**
 * `<imageKey of the referrer>:att:<hash>`: the verdict of one attestation referrer, found in `at`, for one
 * requirement. `requirementHash` is sha256 over the canonical JSON of the attestation type, its conditions
 * and the subject digest the referrer must name (attestations/verifier.ts).
 */
export function attestationKey(policyVersion: string, at: VerdictRepository, referrerDigest: string, requirementHash: string): string {
  return `${imageKey(policyVersion, at, referrerDigest)}:att:${requirementHash}`;
}

export class VerdictCache {
  readonly #options: CacheOptions;
  readonly #lru: LRUCache<string, Verdict> | undefined;
  readonly #flights = new SingleFlight<{ verdict: Verdict; source: CacheSource }>();
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
      this.#options.observer?.lookup('l1', 'hit');
      return { verdict: hit, source: 'l1' };
    }
    const flight = this.#flights.run(key, () => this.#resolve(key, compute));
    if (flight.joined) {
      this.#hits++;
      const { verdict } = await flight.result;
      return { verdict, source: 'shared-flight' };
    }
    this.#misses++;
    this.#options.observer?.lookup('l1', 'miss');
    return flight.result;
  }

  /** An L1 miss: L2, then the cross-replica lock, then the computation. */
  async #resolve(key: string, compute: () => Promise<Verdict>): Promise<{ verdict: Verdict; source: CacheSource }> {
    const shared = this.#options.shared;
    if (!shared) return { verdict: await this.#computeAndStore(key, compute), source: 'computed' };
    const found = await shared.get(key);
    if (found) {
      this.#options.observer?.lookup('l2', 'hit');
      this.#storeL1(key, found.verdict, found.expiresAt);
      return { verdict: found.verdict, source: 'l2' };
    }
    this.#options.observer?.lookup('l2', 'miss');
    const lock = await shared.acquire(key);
    if (typeof lock === 'object' && 'verdict' in lock) {
      this.#storeL1(key, lock.verdict, lock.expiresAt);
      return { verdict: lock.verdict, source: 'l2' };
    }
    try {
      return { verdict: await this.#computeAndStore(key, compute), source: 'computed' };
    } finally {
      // The verdict is published (or was not storable) before the lock goes, so a waiter polling the
      // key finds it rather than racing to verify.
      if (typeof lock === 'object') await lock.lock.release();
    }
  }

  async #computeAndStore(key: string, compute: () => Promise<Verdict>): Promise<Verdict> {
    const verdict = await compute();
    const ttl = this.#ttlMs(verdict);
    if (ttl !== undefined) {
      this.#lru?.set(key, verdict, { ttl });
      await this.#options.shared?.set(key, verdict, ttl);
    }
    return verdict;
  }

  /** An L2 verdict into L1 for what is left of its lifetime (capped by this replica's own TTL). */
  #storeL1(key: string, verdict: Verdict, expiresAt: number | null): void {
    const own = this.#ttlMs(verdict);
    if (own === undefined) return;
    const left = expiresAt === null ? own : Math.max(1, expiresAt - Date.now());
    this.#lru?.set(key, verdict, { ttl: own === 0 ? left : Math.min(own, left) });
  }

  clear(): void {
    this.#lru?.clear();
  }

  /** Closes the shared tier's connection. */
  async close(): Promise<void> {
    await this.#options.shared?.close();
  }
}
