// Level-based reconcile scheduling: runs start at most once per debounce window, so any number of triggers within
// the window become one run, and a trigger after a quiet period runs at once (an isolated edit does not wait out a
// window); at most one run is in flight (a trigger during a run schedules exactly one more), and a run can ask for
// the next one at a given time (certificate expiry, a periodic check). The run function reads the current state
// itself, so nothing about *what* changed is carried here (pepr's queue and controller-runtime's workqueue have the
// same shape).
export interface RunnerOptions {
  /** Shortest time between the starts of two runs triggered by changes. */
  debounceMs: number;
  /** Called on a run that threw; the runner retries after `retryMs`. */
  onError?: (err: unknown) => void;
  /** Delay before retrying a run that threw; 1 s by default. */
  retryMs?: number;
}

export class DebouncedRunner {
  readonly #run: () => Promise<Date | undefined>;
  readonly #options: RunnerOptions;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #running: Promise<void> | undefined;
  #again = false;
  #superseding = false;
  #stopped = false;
  #lastStart = Number.NEGATIVE_INFINITY;

  /** `run` returns when it wants to run again at the latest (or undefined). */
  constructor(run: () => Promise<Date | undefined>, options: RunnerOptions) {
    this.#run = run;
    this.#options = options;
  }

  /**
   * Something changed: run at once when no run started within the debounce window, else when the window ends.
   * `supersede: false` (a change the running reconcile does
   * not need to give way to, such as the echo of its own status write) does not mark the current run superseded.
   */
  trigger(options: { supersede?: boolean } = {}): void {
    if (this.#running && options.supersede !== false) this.#superseding = true;
    this.#schedule(Math.max(Date.now(), this.#lastStart + this.#options.debounceMs));
  }

  /** Run no later than `at`. */
  runBy(at: Date): void {
    this.#schedule(at.getTime());
  }

  /** True while a run is in flight and another has been asked for: the current one may stop early. */
  get superseded(): boolean {
    return this.#running !== undefined && this.#superseding;
  }

  /** Resolves when no run is in flight. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.idle();
  }

  #schedule(at: number): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    // Timers longer than 2^31-1 ms fire at once; far-off wishes are re-checked daily instead.
    this.#timer = setTimeout(() => this.#fire(), Math.min(Math.max(0, at - Date.now()), 86_400_000));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#lastStart = Date.now();
    this.#again = false;
    this.#superseding = false;
    this.#running = this.#run()
      .then(
        (next) => ({ next, failed: false }),
        (err: unknown) => {
          this.#options.onError?.(err);
          return { next: new Date(Date.now() + (this.#options.retryMs ?? 1_000)), failed: true };
        },
      )
      .then(({ next }) => {
        this.#running = undefined;
        if (this.#again) this.trigger();
        if (next !== undefined) this.#schedule(next.getTime());
      });
  }
}
