// A list-watch that never silently stops: the part of client-go's reflector the operator needs, as pure logic over
// a small source interface (client.ts implements it over the API server; tests can drive it with anything).
//
// - List, then watch from the list's resourceVersion, keeping the resourceVersion of every event (and of
//   bookmarks) so that a reconnect resumes exactly where the last one stopped.
// - A watch the server ends normally (its timeoutSeconds ran out) is resumed at once; a failed one after a
//   jittered exponential back-off; `410 Gone` (the resourceVersion is older than etcd's compaction window, or
//   the API server restarted with an older watch cache) means events were lost, so the objects are re-listed.
// - Every `resyncPeriodMs` the objects are re-listed anyway, a safety net for anything a watch can miss.
// - A watchdog ends a watch that stays open but delivers nothing past its own timeout (a dead connection that
//   never saw a FIN or RST: a paused or partitioned API server).
// - A list that fails (404 while a CRD is not installed, 403, connection refused) is retried with the same
//   back-off, forever: the watcher recovers by itself once the cause goes away.
// Every restart and failed list is reported through `onEvent`, for logs and metrics.
import { setTimeout as sleep } from 'node:timers/promises';

export interface KubeObjectMeta {
  name?: string | undefined;
  namespace?: string | undefined;
  resourceVersion?: string | undefined;
}

export interface KubeObject {
  metadata?: KubeObjectMeta | undefined;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T> {
  type: WatchEventType;
  /** The object; for ERROR a metav1.Status. */
  object: T;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

/** Where a ListWatcher gets its objects; errors carry the HTTP status as `statusCode` (see statusCodeOf). */
export interface ListWatchSource<T> {
  /** What is watched, for messages ("trustpolicies.notation.nirmata.io"). */
  readonly description: string;
  list(signal: AbortSignal): Promise<ListResult<T>>;
  /**
   * Streams the events after `resourceVersion` to `onEvent`; resolves when the server ends the watch,
   * rejects when it cannot be started or breaks. Aborting `signal` ends it (resolving or rejecting).
   */
  watch(resourceVersion: string, timeoutSeconds: number, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void>;
}

/** Why a watch was restarted. */
export type RestartReason = 'closed' | 'gone' | 'error' | 'stalled' | 'resync';

export type ListWatchEvent =
  | { type: 'listed'; count: number; resourceVersion: string }
  | { type: 'list-failed'; statusCode: number | undefined; error: string; retryInMs: number; attempt: number }
  | { type: 'restart'; reason: RestartReason; error?: string; retryInMs: number };

export interface BackoffOptions {
  /** First delay; 250 ms by default. */
  initialMs?: number;
  /** Largest delay; 30 s by default. */
  maxMs?: number;
}

/**
 * The delay before retry number `attempt` (0-based): exponential, capped, with "equal jitter" (a random point in
 * the upper half), so that many watchers cut off together do not come back together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The HTTP status of an error from a source or from @kubernetes/client-node (ApiException.code), if any. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const record = err as { statusCode?: unknown; code?: unknown };
  if (typeof record.statusCode === 'number') return record.statusCode;
  if (typeof record.code === 'number') return record.code;
  return undefined;
}

/**
 * A one-line message for an API error: the Status message of a client-node ApiException (whose own message
 * repeats the whole response with headers), else the error's message.
 */
export function kubeErrorMessage(err: unknown): string {
  const record = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; body?: unknown };
  if (typeof record.code === 'number' && typeof record.body === 'string') {
    try {
      const status = JSON.parse(record.body) as { message?: unknown };
      if (typeof status.message === 'string') return `${record.code}: ${status.message}`;
    } catch {
      // not a Status
    }
  }
  return err instanceof Error ? err.message : String(err);
}

const errorText = kubeErrorMessage;

export interface ObjectChange<T> {
  previous?: T | undefined;
  current?: T | undefined;
}

export interface ListWatcherOptions<T> {
  source: ListWatchSource<T>;
  /**
   * Called after every change of the objects (many calls for a burst: debounce in the consumer): with the object
   * before and after for a watch event (absent before an ADDED, after a DELETED), without for a (re-)list.
   */
  onChange?: (change?: ObjectChange<T>) => void;
  onEvent?: (event: ListWatchEvent) => void;
  /** Full re-list interval; 10 minutes by default. */
  resyncPeriodMs?: number;
  /**
   * timeoutSeconds of each watch request, randomised in [t, 2t) like client-go's reflector so that watchers do not
   * reconnect in lockstep; 300 by default.
   */
  watchTimeoutSeconds?: number;
  /** How long past its timeout a watch may stay silent before the watchdog ends it; 30 s by default. */
  watchdogGraceMs?: number;
  backoff?: BackoffOptions;
  random?: () => number;
}

function keyOf(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/** Keeps an up-to-date copy of a list of objects (see the file comment). */
export class ListWatcher<T extends KubeObject> {
  readonly #options: ListWatcherOptions<T>;
  readonly #objects = new Map<string, T>();
  readonly #stop = new AbortController();
  #synced = false;
  #available = false;
  #listedAt = 0;
  #running: Promise<void> | undefined;
  #firstSync: { promise: Promise<void>; resolve: () => void };

  constructor(options: ListWatcherOptions<T>) {
    this.#options = options;
    let resolve: () => void = () => undefined;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#firstSync = { promise, resolve };
  }

  get description(): string {
    return this.#options.source.description;
  }

  /** True once a list succeeded (the objects are a complete view, possibly slightly old). */
  get synced(): boolean {
    return this.#synced;
  }

  /** False while the latest list failed (e.g. the CRD is not installed); the objects are then the last known. */
  get available(): boolean {
    return this.#available;
  }

  /** The current objects, in no particular order. */
  items(): T[] {
    return [...this.#objects.values()];
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#objects.get(`${namespace ?? ''}/${name}`);
  }

  /** Resolves after the first successful list. */
  whenSynced(): Promise<void> {
    return this.#firstSync.promise;
  }

  /** Starts listing and watching; returns at once. */
  start(): void {
    this.#running ??= this.#run().catch((err: unknown) => {
      // #run only ends on stop; anything else is a bug, reported rather than lost.
      this.#options.onEvent?.({ type: 'restart', reason: 'error', error: `list-watch loop ended: ${errorText(err)}`, retryInMs: 0 });
    });
  }

  /** Stops for good and waits until the loop has ended. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.#stop.signal }).catch(() => undefined);
  }

  #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  #changed(change?: ObjectChange<T>): void {
    this.#options.onChange?.(change);
  }

  async #run(): Promise<void> {
    const { source } = this.#options;
    const random = this.#options.random ?? Math.random;
    const resyncMs = this.#options.resyncPeriodMs ?? 600_000;
    const baseTimeout = this.#options.watchTimeoutSeconds ?? 300;
    const grace = this.#options.watchdogGraceMs ?? 30_000;
    const stopSignal = this.#stop.signal;
    let resourceVersion: string | undefined;
    let attempt = 0;
    while (!stopSignal.aborted) {
      if (resourceVersion === undefined) {
        try {
          const listed = await source.list(stopSignal);
          this.#objects.clear();
          for (const item of listed.items) this.#objects.set(keyOf(item), item);
          resourceVersion = listed.resourceVersion;
          this.#listedAt = Date.now();
          this.#available = true;
          attempt = 0;
          this.#options.onEvent?.({ type: 'listed', count: listed.items.length, resourceVersion });
          if (!this.#synced) {
            this.#synced = true;
            this.#firstSync.resolve();
          }
          this.#changed();
        } catch (err) {
          if (this.#stopped()) break;
          const statusCode = statusCodeOf(err);
          // A resource that is gone (CRD deleted) has no objects any more: say so to the consumer.
          if (statusCode === 404 && this.#objects.size > 0) {
            this.#objects.clear();
            this.#changed();
          }
          this.#available = false;
          const retryInMs = backoffDelay(attempt, this.#options.backoff, random);
          this.#options.onEvent?.({ type: 'list-failed', statusCode, error: errorText(err), retryInMs, attempt });
          attempt++;
          await this.#pause(retryInMs);
          continue;
        }
      }

      const watchAbort = new AbortController();
      const signal = AbortSignal.any([stopSignal, watchAbort.signal]);
      // Set once, by whatever ends this watch first (a closure: TypeScript would not see the assignment).
      const ending: { reason?: RestartReason; error?: string; delivered?: boolean } = {};
      const end = (why: RestartReason, detail?: string) => {
        if (ending.reason !== undefined) return;
        ending.reason = why;
        if (detail !== undefined) ending.error = detail;
        watchAbort.abort();
      };
      const timeoutSeconds = Math.floor(baseTimeout * (1 + random()));
      const resyncTimer = setTimeout(() => end('resync'), Math.max(0, this.#listedAt + resyncMs - Date.now()));
      let watchdog = setTimeout(() => end('stalled', `no event and no close for ${timeoutSeconds}s + ${grace}ms`), timeoutSeconds * 1000 + grace);
      const started = Date.now();
      const onEvent = (event: WatchEvent<T>) => {
        if (ending.reason !== undefined) return;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => end('stalled', `silent for ${timeoutSeconds}s + ${grace}ms`), timeoutSeconds * 1000 + grace);
        ending.delivered = true;
        const object = event.object;
        switch (event.type) {
          case 'ERROR': {
            const status = object as { code?: number; message?: string };
            end(status.code === 410 ? 'gone' : 'error', status.message ?? 'watch error event');
            return;
          }
          case 'BOOKMARK':
            resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
            return;
        }
        const previous = this.#objects.get(keyOf(object));
        if (event.type === 'DELETED') this.#objects.delete(keyOf(object));
        else this.#objects.set(keyOf(object), object);
        resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        this.#changed(event.type === 'DELETED' ? { previous } : { previous, current: object });
      };
      try {
        await source.watch(resourceVersion, timeoutSeconds, onEvent, signal);
        end('closed');
      } catch (err) {
        end(statusCodeOf(err) === 410 ? 'gone' : 'error', errorText(err));
      } finally {
        clearTimeout(resyncTimer);
        clearTimeout(watchdog);
      }
      if (this.#stopped()) break;

      // A watch that ran a while or delivered events was healthy: the next failure starts the back-off afresh.
      if (ending.delivered === true || Date.now() - started > 10_000) attempt = 0;
      const reason = ending.reason ?? 'closed';
      let retryInMs = 0;
      if (reason === 'gone' || reason === 'resync') resourceVersion = undefined;
      // A close right after the start with nothing delivered is a failure in disguise (a proxy ending requests):
      // back off so that it cannot become a hot loop.
      else if (reason === 'error' || reason === 'stalled' || (ending.delivered !== true && Date.now() - started < 1_000)) {
        retryInMs = backoffDelay(attempt++, this.#options.backoff, random);
      }
      this.#options.onEvent?.({ type: 'restart', reason, ...(ending.error !== undefined && { error: ending.error }), retryInMs });
      if (retryInMs > 0) await this.#pause(retryInMs);
    }
  }
}
