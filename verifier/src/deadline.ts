// A time budget as one AbortController: aborted by its own timer (a TimeoutError, as
// AbortSignal.timeout gives), by a parent signal, or by hand. Cheaper than AbortSignal.timeout +
// AbortSignal.any, which on Node 20 cost ~50 µs per use and keep a timer and weak references alive
// for the whole budget after the work is done (docs/benchmarks.md); `clear()` releases everything.

export interface Deadline {
  readonly signal: AbortSignal;
  /** True when the budget's own timer fired (not the parent, not a manual abort). */
  readonly expired: boolean;
  abort(reason: unknown): void;
  /** Stops the timer and detaches from the parent; call when the work is done. */
  clear(): void;
}

export function startDeadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, ms);
  timer.unref();
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    abort: (reason) => controller.abort(reason),
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}
