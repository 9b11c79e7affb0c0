// Uncached work gives way to cached answers (docs/architecture.md "The request pipeline", "Cached answers
// first"). A cached answer is computed in one go as soon as its request has been read; a cache miss has
// stages (the notation run, then its verdict stored and answered) that can wait for a turn of the event
// loop. Each waiting stage resumes in a turn of its own, in the order they asked, so that between two of
// them the event loop reads the sockets again and answers whatever cached requests arrived meanwhile:
// a burst of misses delays a cached answer by one stage, not by all of them. Nothing is dropped and no
// answer changes: a stage only starts later (by one turn per stage queued before it).
import { setImmediate } from 'node:timers';

/** Stages queued beyond this many no longer wait: the queue stays bounded, the work is never held back. */
const MAX_WAITING = 1024;

export class UncachedTurns {
  readonly #maxWaiting: number;
  readonly #waiting: (() => void)[] = [];
  #scheduled = false;

  constructor(options: { readonly maxWaiting?: number } = {}) {
    this.#maxWaiting = options.maxWaiting ?? MAX_WAITING;
  }

  /** Stages waiting for their turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves in a later turn of the event loop, after the stages that asked before it, one stage per turn;
   * at once (in this turn's microtasks) when MAX_WAITING stages are waiting already.
   */
  next(): Promise<void> {
    if (this.#waiting.length >= this.#maxWaiting) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#turn);
  }

  readonly #turn = (): void => {
    this.#scheduled = false;
    const resume = this.#waiting.shift();
    // An immediate asked for while immediates run waits for the next turn of the loop, after the
    // sockets have been read again.
    if (this.#waiting.length > 0) this.#schedule();
    resume?.();
  };
}
