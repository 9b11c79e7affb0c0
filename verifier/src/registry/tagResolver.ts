// Tag → digest resolution for the request pipeline (docs/architecture.md "Caches and what they are keyed
// by"): concurrent resolutions of one tag share one registry round trip (SingleFlight), and an optional
// short memory (`--tagCacheTTLSeconds`, off by default) answers a tag resolved less than that long ago
// without asking the registry. Neither can admit unverified content: the pipeline verifies the digest it
// is given and the patch pins exactly that digest, so a remembered tag pins the image it named when it
// was resolved — which may be the previous image for at most the TTL after the tag moves (README
// "Tag resolution").
import { KnaError } from '@kna/shared/errors';
import { LRUCache } from 'lru-cache';
import { SingleFlight } from '../singleFlight.js';
import { abortable } from './auth.js';
import type { ResolvedManifest } from './client.js';
import { canonicalRegistry, type ImageRef } from './endpoint.js';
import { ERR_REGISTRY_DEADLINE } from './errors.js';
import type { CallOptions, Clock } from './transport.js';

export interface TagResolverOptions {
  /** Seconds a resolution is remembered; 0 (the default) resolves every tag on every request. */
  readonly ttlSeconds?: number;
  /** Most tags remembered. Default 1000. */
  readonly maxEntries?: number;
  /** Time source of the memory (tests). Default Date.now. */
  readonly clock?: Pick<Clock, 'now'>;
}

type Resolve = (ref: ImageRef, call: CallOptions) => Promise<ResolvedManifest>;

export class TagResolver {
  readonly #resolve: Resolve;
  readonly #flights = new SingleFlight<ResolvedManifest>();
  readonly #memory: LRUCache<string, { manifest: ResolvedManifest; until: number }> | undefined;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #roundTrips = 0;

  constructor(resolve: Resolve, options: TagResolverOptions = {}) {
    this.#resolve = resolve;
    this.#ttlMs = Math.max(0, options.ttlSeconds ?? 0) * 1000;
    const clock = options.clock ?? { now: () => Date.now() };
    this.#now = () => clock.now();
    this.#memory = this.#ttlMs > 0 ? new LRUCache({ max: options.maxEntries ?? 1000 }) : undefined;
  }

  /** Resolutions that went to the registry (tests, diagnostics). */
  get roundTrips(): number {
    return this.#roundTrips;
  }

  /**
   * What the reference names now (or, with a TTL, named less than TTL ago). A reference with a digest is
   * passed through (the client checks it); only tags are shared and remembered.
   */
  async resolve(ref: ImageRef, call: CallOptions = {}): Promise<ResolvedManifest> {
    if (ref.digest !== undefined || ref.tag === undefined) {
      this.#roundTrips++;
      return this.#resolve(ref, call);
    }
    // The canonical registry: two spellings of one registry are one tag.
    const key = `${canonicalRegistry(ref.registry)}/${ref.repository}:${ref.tag}`;
    const remembered = this.#memory?.get(key);
    if (remembered && this.#now() < remembered.until) return remembered.manifest;

    // The shared round trip runs under no single caller's signal (one caller's deadline must not fail the
    // others); the registry client's per-exchange timeout bounds it, and each caller leaves at its own deadline.
    const flight = this.#flights.run(key, async () => {
      this.#roundTrips++;
      const started = this.#now();
      const manifest = await this.#resolve(ref, {});
      // Remembered from when the question was asked, so that the TTL bounds the age of the answer.
      this.#memory?.set(key, { manifest, until: started + this.#ttlMs });
      return manifest;
    });
    return abortable(flight.result, call.signal).catch((err: unknown) => {
      if (err instanceof KnaError) throw err;
      throw new ERR_REGISTRY_DEADLINE(`manifest ${ref.registry}/${ref.repository}:${ref.tag}`, { cause: err });
    });
  }
}
