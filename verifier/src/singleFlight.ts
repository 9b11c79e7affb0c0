// One computation per key at a time: callers that ask for a key while its computation runs share that
// computation's promise instead of starting another (the verdict cache, TokenReview, ECR tokens and
// registry bearer tokens all need exactly this). The key is forgotten as soon as its computation
// settles, so a failure is never remembered here: caching results is the caller's business.

export interface Flight<V> {
  readonly result: Promise<V>;
  /** True when the caller joined a computation that was already running. */
  readonly joined: boolean;
}

export class SingleFlight<V> {
  readonly #flights = new Map<string, Promise<V>>();

  /** The running computation for `key`, or a new one started with `start`. */
  run(key: string, start: () => Promise<V>): Flight<V> {
    const flying = this.#flights.get(key);
    if (flying) return { result: flying, joined: true };
    const result = start().finally(() => {
      if (this.#flights.get(key) === result) this.#flights.delete(key);
    });
    this.#flights.set(key, result);
    return { result, joined: false };
  }

  /** Computations running now (tests, diagnostics). */
  get size(): number {
    return this.#flights.size;
  }
}
