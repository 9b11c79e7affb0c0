// A counting semaphore per key (per registry host): at most `limit` exchanges with one registry at a time,
// so that one slow or throttling registry cannot take every connection and a burst of pods cannot turn
// into a burst of hundreds of parallel pulls against one registry. Waiters are served first come, first
// served, and leave the queue when their caller gives up (the request deadline).

interface Waiter {
  readonly grant: () => void;
}

interface Slot {
  active: number;
  readonly queue: Waiter[];
}

export class KeyedLimiter {
  readonly limit: number;
  readonly #slots = new Map<string, Slot>();

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  /** Resolves with a release function once a slot for `key` is free; rejects with the signal's reason on abort. */
  async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    const slot = this.#slot(key);
    if (slot.active < this.limit) {
      slot.active++;
      return this.#releaser(key, slot);
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = slot.queue.indexOf(waiter);
        if (at >= 0) slot.queue.splice(at, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted', { cause: signal?.reason }));
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      slot.queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.#releaser(key, slot);
  }

  /** For metrics and tests: exchanges in flight and callers waiting for `key`. */
  stats(key: string): { active: number; queued: number } {
    const slot = this.#slots.get(key);
    return { active: slot?.active ?? 0, queued: slot?.queue.length ?? 0 };
  }

  #slot(key: string): Slot {
    let slot = this.#slots.get(key);
    if (!slot) {
      slot = { active: 0, queue: [] };
      this.#slots.set(key, slot);
    }
    return slot;
  }

  #releaser(key: string, slot: Slot): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = slot.queue.shift();
      if (next) {
        // The slot passes straight to the next waiter: `active` stays the same.
        next.grant();
        return;
      }
      slot.active--;
      if (slot.active === 0) this.#slots.delete(key);
    };
  }
}
