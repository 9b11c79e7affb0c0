// One HTTP exchange with a registry, done carefully: a per-request timeout and the caller's deadline on
// every call, a cap on concurrent exchanges per registry host, back-off on 429 and 5xx overload answers
// within the caller's deadline, keep-alive connections, and every response reported to an observer.
//
// Plain `fetch` (Node 20's undici) is used as is: its global agent keeps connections alive and pools them
// per origin, which is what a verifier that talks to a handful of registries needs; a dedicated undici
// Agent would only be worth its dependency for per-registry pool tuning, which nothing has measured a need
// for. Redirects are followed by fetch (blob downloads redirect to object storage); fetch drops the
// Authorization header when a redirect leaves the origin (Fetch standard, "HTTP-redirect fetch"), which a
// test pins down.
import { setTimeout as sleep } from 'node:timers/promises';
import { KnaError } from '@kna/shared/errors';
import { detailOf, discardBody } from './body.js';
import { startDeadline, type Deadline } from '../deadline.js';
import { describeNetworkError } from '../networkError.js';
import { keepAliveHeadClient, type HeadClient } from './head.js';
import { KeyedLimiter } from './limiter.js';
import {
  ERR_REGISTRY_DEADLINE,
  ERR_REGISTRY_RATE_LIMITED,
  ERR_REGISTRY_TIMEOUT,
  ERR_REGISTRY_UNAVAILABLE,
  ERR_REGISTRY_UNREACHABLE,
  type Subject,
} from './errors.js';

/** What an exchange was for, as the observer sees it (a label for registry status-code metrics). */
export const RegistryOperation = {
  /** HEAD/GET of a manifest by tag or digest to learn its digest. */
  Resolve: 'resolve',
  /** GET of a manifest by digest. */
  Manifest: 'manifest',
  Blob: 'blob',
  /** Referrers API pages and the referrers tag-schema index. */
  Referrers: 'referrers',
  /** Token endpoint of a bearer-token registry. */
  Token: 'token',
} as const;
export type RegistryOperation = (typeof RegistryOperation)[keyof typeof RegistryOperation];

/** Told about every HTTP answer (and every exchange that got none); must not throw (errors are ignored). */
export interface RegistryObserver {
  /**
   * `host` is the API host contacted, `status` the HTTP status or 0 when no answer came (refused,
   * timed out, aborted), `durationMs` the time to the response headers.
   */
  onResponse(host: string, operation: RegistryOperation, status: number, durationMs: number): void;
}

/** Per-call options every client method takes. */
export interface CallOptions {
  /** The caller's cancellation: the request deadline, shutdown. Aborting fails the call with KNA_ERR_REGISTRY_DEADLINE. */
  readonly signal?: AbortSignal;
  /**
   * When the caller's deadline falls (epoch ms, `Date.now()` clock). Lets the client give up at once on a
   * `Retry-After` it cannot honour in time instead of waiting for the abort.
   */
  readonly deadline?: number;
}

/** Time, injectable so that back-off tests need no real waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : {}),
};

export interface TransportOptions {
  /** Limit on one exchange, from sending the request to the end of the body. Default 10 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Exchanges in flight per registry host; more wait in line. Default 16. */
  readonly maxConcurrentPerRegistry?: number;
  /** Retries after 429, 502, 503, 504 or a reset connection. Default 3. */
  readonly maxRetries?: number;
  /** First back-off when the registry gives no Retry-After; doubles per retry, with jitter. Default 250 ms. */
  readonly retryBaseDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails at once. Default 10 000 ms. */
  readonly maxRetryDelayMs?: number;
  /** Default `kyverno-notation-aws`. */
  readonly userAgent?: string;
  readonly observer?: RegistryObserver;
  /** Default the system clock. */
  readonly clock?: Clock;
}

export interface RegistryRequest {
  readonly operation: RegistryOperation;
  /** For messages: "manifest localhost:5000/app:v1". */
  readonly subject: Subject;
  readonly url: URL;
  readonly method?: 'GET' | 'HEAD' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);
const TRANSIENT_NETWORK: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

type Attempt<T> = { readonly done: T } | { readonly retry: Retry };
interface Retry {
  readonly delayMs: number;
  /** The registry asked for this delay (Retry-After), rather than the client's own back-off. */
  readonly fromRegistry: boolean;
  /** The error to throw if the client gives up, saying why it gave up. */
  readonly fail: (why: string) => KnaError;
}

export class Transport {
  readonly requestTimeoutMs: number;
  readonly #limiter: KeyedLimiter;
  readonly #maxRetries: number;
  readonly #retryBaseDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #userAgent: string;
  readonly #observer: RegistryObserver | undefined;
  readonly #clock: Clock;
  readonly #head: HeadClient;

  constructor(options: TransportOptions = {}) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#limiter = new KeyedLimiter(options.maxConcurrentPerRegistry ?? 16);
    this.#maxRetries = options.maxRetries ?? 3;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 250;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    this.#userAgent = options.userAgent ?? 'kyverno-notation-aws';
    this.#observer = options.observer;
    this.#clock = options.clock ?? systemClock;
    this.#head = keepAliveHeadClient({ maxSocketsPerHost: options.maxConcurrentPerRegistry ?? 16 });
  }

  get clock(): Clock {
    return this.#clock;
  }

  /** In-flight and queued exchanges for a host (metrics, tests). */
  load(host: string): { active: number; queued: number } {
    return this.#limiter.stats(host);
  }

  /**
   * Sends `request` and hands the response to `consume` while the host's concurrency slot is held; the
   * body is released afterwards whatever `consume` did with it. Overload answers (429, 502-504) and reset
   * connections are retried here; every other status is `consume`'s to interpret.
   */
  async exchange<T>(request: RegistryRequest, call: CallOptions, consume: (response: Response) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(request, call, consume, attempt);
      if ('done' in outcome) return outcome.done;
      const { delayMs, fromRegistry, fail } = outcome.retry;
      if (fromRegistry && delayMs > this.#maxRetryDelayMs) {
        throw fail(`asked to wait ${Math.ceil(delayMs / 1000)} s, longer than the verifier waits (${this.#maxRetryDelayMs} ms)`);
      }
      if (call.deadline !== undefined && this.#clock.now() + delayMs >= call.deadline) {
        throw fail(`waiting ${delayMs} ms more would pass the request deadline`);
      }
      try {
        await this.#clock.sleep(delayMs, call.signal);
      } catch (err) {
        throw new ERR_REGISTRY_DEADLINE(request.subject, { cause: err });
      }
    }
  }

  async #attempt<T>(request: RegistryRequest, call: CallOptions, consume: (response: Response) => Promise<T>, attempt: number): Promise<Attempt<T>> {
    const last = attempt > this.#maxRetries;
    const host = request.url.host;
    let release: () => void;
    try {
      release = await this.#limiter.acquire(host, call.signal);
    } catch (err) {
      throw new ERR_REGISTRY_DEADLINE(request.subject, { cause: err });
    }
    // The exchange's own timeout (body included) and the caller's deadline, as one signal.
    const budget = startDeadline(this.requestTimeoutMs, call.signal);
    const { signal } = budget;
    const started = performance.now();
    let response: Response | undefined;
    try {
      try {
        const headers = { 'user-agent': this.#userAgent, 'accept-encoding': 'identity', ...request.headers };
        response =
          request.method === 'HEAD'
            ? await this.#head.head(request.url, headers, signal)
            : await fetch(request.url, {
                method: request.method ?? 'GET',
                headers,
                ...(request.body !== undefined && { body: request.body }),
                redirect: 'follow',
                signal,
              });
      } catch (err) {
        this.#observe(host, request.operation, 0, started);
        const failure = this.#failure(err, request, call, budget);
        if (last || !failure.transient) throw failure.error;
        return { retry: { delayMs: this.#backoff(attempt), fromRegistry: false, fail: () => failure.error } };
      }
      this.#observe(host, request.operation, response.status, started);
      if (RETRYABLE_STATUS.has(response.status)) {
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.#clock.now());
        const detail = await detailOf(response);
        const fail = (why: string): KnaError =>
          detail.status === 429 ? new ERR_REGISTRY_RATE_LIMITED(request.subject, detail, why) : new ERR_REGISTRY_UNAVAILABLE(request.subject, detail, why);
        if (last) throw fail(`still failing after ${attempt} attempts`);
        return { retry: { delayMs: retryAfter ?? this.#backoff(attempt), fromRegistry: retryAfter !== undefined, fail } };
      }
      try {
        return { done: await consume(response) };
      } catch (err) {
        if (err instanceof KnaError) throw err;
        throw this.#failure(err, request, call, budget).error;
      }
    } finally {
      if (response) await discardBody(response);
      budget.clear();
      release();
    }
  }

  #failure(err: unknown, request: RegistryRequest, call: CallOptions, budget: Deadline): { error: KnaError; transient: boolean } {
    if (call.signal?.aborted) return { error: new ERR_REGISTRY_DEADLINE(request.subject, { cause: err }), transient: false };
    if (budget.expired) {
      return { error: new ERR_REGISTRY_TIMEOUT(request.subject, request.url.host, this.requestTimeoutMs, { cause: err }), transient: false };
    }
    const { code, reason } = describeNetworkError(err);
    return {
      error: new ERR_REGISTRY_UNREACHABLE(request.subject, request.url.host, reason, { cause: err }),
      transient: code !== undefined && TRANSIENT_NETWORK.has(code),
    };
  }

  #backoff(attempt: number): number {
    // Exponential from the base, with jitter in [50%, 100%] so that parallel callers spread out.
    return Math.round(this.#retryBaseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() * 0.5));
  }

  #observe(host: string, operation: RegistryOperation, status: number, started: number): void {
    if (!this.#observer) return;
    try {
      this.#observer.onResponse(host, operation, status, performance.now() - started);
    } catch {
      // Metrics must never break verification.
    }
  }
}

/** `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; milliseconds from `now`, or undefined. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
