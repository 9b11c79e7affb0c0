// Prometheus metrics of the verifier, served on --metrics-bind-address. Label sets are bounded:
// status codes, outcomes, failure kinds and cache tiers, never image names or digests.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState, LockResult, SharedTierObserver } from './cache/shared.js';

/** What the image counter labels by: an image's outcome, failure kind and where its verdict came from (bounded sets). */
export interface ImageObservation {
  readonly outcome: string;
  readonly kind?: string | undefined;
  readonly cache?: string | undefined;
}

export class VerifierMetrics implements SharedTierObserver {
  readonly registry = new Registry();
  readonly #requests: Counter<'status'>;
  readonly #duration: Histogram<'status'>;
  readonly #images: Counter<'outcome' | 'kind' | 'cache'>;
  readonly #notationDuration: Histogram<'outcome'>;
  readonly #bundleLoads: Counter<'result'>;
  readonly #bundleInfo: Gauge<'version'>;
  readonly #registry: Histogram<'operation' | 'status'>;
  readonly #selectedNothing: Counter;
  readonly #cacheLookups: Counter<'tier' | 'result'>;
  readonly #cacheLocks: Counter<'result'>;
  readonly #macRejections: Counter;
  readonly #redisErrors: Counter<'operation'>;
  readonly #breaker: Gauge<'state'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.#requests = new Counter({
      name: 'kna_checkimages_requests_total',
      help: '/checkimages requests by HTTP status',
      labelNames: ['status'],
      registers: [this.registry],
    });
    this.#duration = new Histogram({
      name: 'kna_checkimages_duration_seconds',
      help: '/checkimages latency',
      labelNames: ['status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
      registers: [this.registry],
    });
    this.#images = new Counter({
      name: 'kna_image_verifications_total',
      help: 'Images checked, by outcome, failure kind and cache tier',
      labelNames: ['outcome', 'kind', 'cache'],
      registers: [this.registry],
    });
    this.#notationDuration = new Histogram({
      name: 'kna_notation_verify_duration_seconds',
      help: 'Duration of notation verify runs',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers: [this.registry],
    });
    this.#bundleLoads = new Counter({
      name: 'kna_bundle_loads_total',
      help: 'Bundles loaded or rejected',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.#registry = new Histogram({
      name: 'kna_registry_request_duration_seconds',
      help: 'Registry requests of the verifier by operation and HTTP status (0 = no answer), time to the response headers',
      labelNames: ['operation', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.#selectedNothing = new Counter({
      name: 'kna_image_references_selected_nothing_total',
      help: 'Requests whose imageReferences selected none of their images (answered 200 with a warning; nothing was verified)',
      registers: [this.registry],
    });
    this.#cacheLookups = new Counter({
      name: 'kna_cache_lookups_total',
      help: 'Verdict cache lookups by tier (l1 in-process, l2 Redis) and result',
      labelNames: ['tier', 'result'],
      registers: [this.registry],
    });
    this.#cacheLocks = new Counter({
      name: 'kna_cache_lock_total',
      help: "Cross-replica single-flight: won (this replica verifies), waited (another replica's verdict arrived), timeout (verified here after waiting)",
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.#macRejections = new Counter({
      name: 'kna_cache_mac_rejections_total',
      help: 'Shared cache entries ignored because their HMAC was missing or did not verify',
      registers: [this.registry],
    });
    this.#redisErrors = new Counter({
      name: 'kna_redis_errors_total',
      help: 'Redis commands that failed or timed out, by operation',
      labelNames: ['operation'],
      registers: [this.registry],
    });
    this.#breaker = new Gauge({
      name: 'kna_redis_breaker_state',
      help: 'Circuit breaker in front of Redis: 1 for the current state (closed, open, half-open); open while there is no connection',
      labelNames: ['state'],
      registers: [this.registry],
    });
    this.#bundleInfo = new Gauge({
      name: 'kna_bundle_info',
      help: 'The bundle being served (value 1, version label)',
      labelNames: ['version'],
      registers: [this.registry],
    });
  }

  observeRequest(status: number, durationMs: number, reports: readonly ImageObservation[]): void {
    this.#requests.inc({ status: String(status) });
    this.#duration.observe({ status: String(status) }, durationMs / 1000);
    for (const r of reports) this.#images.inc({ outcome: r.outcome, kind: r.kind ?? 'none', cache: r.cache ?? 'none' });
    if (reports.length > 0 && reports.every((r) => r.outcome === 'not-selected')) this.#selectedNothing.inc();
  }

  observeNotation(outcome: string, durationMs: number): void {
    this.#notationDuration.observe({ outcome }, durationMs / 1000);
  }

  /** The registry client's observer (operations and status codes: bounded labels; hosts are left out). */
  observeRegistry(operation: string, status: number, durationMs: number): void {
    this.#registry.observe({ operation, status: String(status) }, durationMs / 1000);
  }

  observeBundle(result: 'loaded' | 'rejected', version?: string): void {
    this.#bundleLoads.inc({ result });
    if (version !== undefined) {
      this.#bundleInfo.reset();
      this.#bundleInfo.set({ version: version.slice(0, 12) }, 1);
    }
  }

  lookup(tier: 'l1' | 'l2', result: 'hit' | 'miss'): void {
    this.#cacheLookups.inc({ tier, result });
  }

  lock(result: LockResult): void {
    this.#cacheLocks.inc({ result });
  }

  macRejected(): void {
    this.#macRejections.inc();
  }

  redisError(operation: string): void {
    this.#redisErrors.inc({ operation });
  }

  breakerState(state: BreakerState): void {
    for (const s of ['closed', 'open', 'half-open'] as const) this.#breaker.set({ state: s }, s === state ? 1 : 0);
  }
}
