// The verification cache's second tier: Redis, shared by every verifier replica (docs/architecture.md
// "Caches and what they are keyed by", README "Caching"). It sits behind the in-process LRU
// (verdicts.ts) and is keyed by the same `kna:v1:` keys.
//
// What it guarantees, and how:
// - Integrity: every value carries an HMAC-SHA256 over the key and the value, made with a key only the
//   verifier pods have (--cacheHMACKeyFile). An entry without a MAC, with a wrong MAC or a MAC made with
//   another key, or one copied under another key, is a miss: counted, logged, never an admission.
// - Fail-open: Redis is an optimisation, never a dependency. The offline queue is off (a command while
//   disconnected fails at once), each command has a tight timeout (--redisCommandTimeoutMilliseconds),
//   and a circuit breaker opens on the first failure: for --redisBreakerOpenMilliseconds every request
//   skips Redis, then one request probes it (half-open) and closes the breaker if it answers. The
//   breaker is open too while there is no connection (before the first, after one is lost), and the log
//   says why (refused, an untrusted TLS certificate…). A down, slow, paused or flapping Redis therefore
//   costs at most one command timeout per breaker period, and never fails a request.
// - Cross-pod single-flight: the first replica to miss takes a `SET NX PX` lock for the key, verifies,
//   publishes the verdict and only then releases the lock; the others poll for the verdict for at most
//   --redisLockWaitMilliseconds and then verify themselves. Polling rather than keyspace notifications:
//   these need `notify-keyspace-events` set on the server (often not allowed on managed Redis) and a
//   second, subscribed connection per replica; docs/benchmarks.md has the measured cost of a wait.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Redis, RedisOptions } from 'ioredis';
import type { Verdict } from './verdicts.js';

export type BreakerState = 'closed' | 'open' | 'half-open';
export type LockResult = 'won' | 'waited' | 'timeout';

/** What the shared tier reports; VerifierMetrics implements it. */
export interface SharedTierObserver {
  lookup(tier: 'l1' | 'l2', result: 'hit' | 'miss'): void;
  lock(result: LockResult): void;
  macRejected(): void;
  redisError(operation: string): void;
  breakerState(state: BreakerState): void;
}

export interface SharedTierLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface SharedTierOptions {
  /** --redisURL: redis://[user:password@]host:port[/db] or rediss://… */
  readonly url: string;
  /** --redisPasswordFile's content (overrides a password in the URL). */
  readonly password?: string;
  /** --redisCAFile's content: the CA that signed the server's certificate (rediss:// only). */
  readonly ca?: string;
  /** --cacheHMACKeyFile's content. */
  readonly hmacKey: Buffer;
  /** --redisCommandTimeoutMilliseconds */
  readonly commandTimeoutMs: number;
  /** --redisLockWaitMilliseconds: longest wait for another replica's verdict. */
  readonly lockWaitMs: number;
  /** How long a lock lives if its holder dies (at least as long as a verification may take). */
  readonly lockTtlMs: number;
  /** --redisBreakerOpenMilliseconds */
  readonly breakerOpenMs: number;
  /** Interval between polls while another replica holds the lock. Default 25 ms. */
  readonly pollIntervalMs?: number;
  /** Fraction of the TTL taken off at random so entries written together do not expire together. Default 0.1. */
  readonly ttlJitter?: number;
  /** Prepended to every Redis key (tests use their own). Default "". */
  readonly keyPrefix?: string;
  readonly observer?: SharedTierObserver;
  readonly log?: SharedTierLog;
}

const MAC_LENGTH = 64; // hex SHA-256

/** The stored form: `<hex HMAC-SHA256(key \n payload)>.<payload JSON>`. */
interface Payload {
  readonly outcome: Verdict['outcome'];
  readonly digest: string;
  readonly reason: string;
  readonly kind: string;
  readonly warnings: readonly string[];
  readonly verifiedAt: string;
  /** Epoch milliseconds, or null for "no expiry" (--cacheTTLDurationSeconds=0). */
  readonly expiresAt: number | null;
}

const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

const noopObserver: SharedTierObserver = { lookup() {}, lock() {}, macRejected() {}, redisError() {}, breakerState() {} };

/** TLS verification failures of Node.js: the server's certificate is not trusted by --redisCAFile. */
const CERTIFICATE_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Why the connection failed, in the operator's terms. */
function connectionFailure(err: NodeJS.ErrnoException, tls: boolean): string {
  if (tls && err.code !== undefined && CERTIFICATE_ERRORS.has(err.code)) {
    return `the Redis server's TLS certificate is not trusted (${err.message}); --redisCAFile must name the CA that issued it`;
  }
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  return err.message;
}

/**
 * `promise`, or a rejection after `ms`. A timer that fires late because this process was busy (a loaded
 * node, a long request) must not turn a reply that has already arrived into a failure that opens the
 * breaker: the rejection waits for the next check phase, after the poll phase has read the sockets.
 */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new Error(`Redis did not answer within ${ms} ms`));
      });
    }, ms);
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** The URL without its password, for logs. */
function redactedUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== '') copy.password = '***';
  return copy.href;
}

export function sealValue(hmacKey: Buffer, key: string, payload: string): string {
  return `${createHmac('sha256', hmacKey).update(key).update('\n').update(payload).digest('hex')}.${payload}`;
}

export class SharedVerdictTier {
  readonly #options: SharedTierOptions;
  readonly #redis: Redis;
  readonly #observer: SharedTierObserver;
  // Open until the connection is first ready: kna_redis_breaker_state says whether Redis is in use.
  #state: BreakerState = 'open';
  #openUntil = 0;
  #probing = false;

  /**
   * Connects in the background (the tier skips Redis until the connection is ready). ioredis is loaded
   * here, not when this module is: a verifier without --redisURL never loads it (docs/benchmarks.md
   * "Production runtime"); with one, a client that cannot be loaded fails the start-up.
   */
  static async open(options: SharedTierOptions): Promise<SharedVerdictTier> {
    const { Redis: RedisClient } = await import('ioredis');
    return new SharedVerdictTier(options, RedisClient);
  }

  private constructor(options: SharedTierOptions, RedisClient: typeof Redis) {
    this.#options = options;
    this.#observer = options.observer ?? noopObserver;
    const url = new URL(options.url);
    const tls = url.protocol === 'rediss:';
    const redisOptions: RedisOptions = {
      enableOfflineQueue: false,
      // No commandTimeout here: #call applies its own (withDeadline), which tells a Redis that did not
      // answer from a reply this process was too busy to read in time.
      connectTimeout: Math.max(1000, options.commandTimeoutMs * 10),
      maxRetriesPerRequest: 0,
      // Reconnect forever, backing off to 2 s: recovery is automatic.
      retryStrategy: (times) => Math.min(times * 100, 2000),
      keyPrefix: options.keyPrefix ?? '',
      ...(options.password !== undefined && { password: options.password }),
      // SNI takes a host name only; an IP address is checked against the certificate's IP SANs without it.
      ...(tls && {
        tls: { ...(options.ca !== undefined && { ca: options.ca }), ...(isIP(url.hostname.replace(/^\[|\]$/g, '')) === 0 && { servername: url.hostname }) },
      }),
    };
    this.#redis = new RedisClient(options.url, redisOptions);
    // While the connection is down every request skips Redis (#admit), so the reason is said here: once
    // per distinct reason (ioredis retries every 2 s), and once more when the connection is back.
    let lastReason: string | undefined;
    this.#redis.on('error', (err: NodeJS.ErrnoException) => {
      const reason = connectionFailure(err, tls);
      if (reason === lastReason) return;
      lastReason = reason;
      this.#observer.redisError('connect');
      this.#options.log?.warn(
        { redis: redactedUrl(url), err: err.message, code: err.code },
        `cannot use Redis: ${reason}; verifying without the shared cache until it connects`,
      );
    });
    // A lost connection opens the breaker too, so kna_redis_breaker_state shows the outage. A (re)made
    // connection closes it: ioredis reports ready once the server has answered (its ready check), which
    // is the probe a half-open breaker would make.
    this.#redis.on('close', () => this.#trip());
    this.#redis.on('ready', () => {
      lastReason = undefined;
      this.#probing = false;
      this.#setState('closed');
    });
    this.#observer.breakerState('open');
  }

  /** Whether the connection is up (tests wait for it; readiness never does). */
  get connected(): boolean {
    return this.#redis.status === 'ready';
  }

  get breaker(): BreakerState {
    return this.#state;
  }

  /** Whether Redis may be asked now. In the open state after its period, one caller becomes the probe. */
  #admit(): boolean {
    // Not connected (starting, or reconnecting after Redis went away): skip at no cost. A command now
    // would fail at once anyway (no offline queue); the breaker is for a Redis that is connected but
    // does not answer (paused, overloaded, a half-open connection).
    if (this.#redis.status !== 'ready') return false;
    if (this.#state === 'closed') return true;
    if (this.#state === 'open' && Date.now() >= this.#openUntil && !this.#probing) {
      this.#setState('half-open');
      this.#probing = true;
      return true;
    }
    return false;
  }

  #setState(state: BreakerState): void {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.#observer.breakerState(state);
    if (state === 'open' && previous === 'closed') {
      this.#options.log?.warn({ openMs: this.#options.breakerOpenMs }, 'Redis failed; verifying without the shared cache until it answers again');
    } else if (state === 'closed') {
      this.#options.log?.info({}, 'Redis answers; shared cache in use');
    }
  }

  /** Runs one Redis command under the breaker; undefined when Redis was skipped or failed. */
  async #call<T>(operation: string, command: (redis: Redis) => Promise<T>): Promise<{ value: T } | undefined> {
    if (!this.#admit()) return undefined;
    const probe = this.#state === 'half-open';
    try {
      const value = await withDeadline(command(this.#redis), this.#options.commandTimeoutMs);
      if (probe) {
        this.#probing = false;
        this.#setState('closed');
      }
      return { value };
    } catch {
      this.#observer.redisError(operation);
      if (probe) this.#probing = false;
      this.#trip();
      return undefined;
    }
  }

  #trip(): void {
    this.#openUntil = Date.now() + this.#options.breakerOpenMs;
    this.#setState('open');
  }

  /** The verdict stored for `key`, if any, with a valid MAC and not expired. */
  async get(key: string): Promise<{ verdict: Verdict; expiresAt: number | null } | undefined> {
    const answer = await this.#call('get', (redis) => redis.get(key));
    if (answer?.value == null) return undefined;
    return this.#open(key, answer.value);
  }

  #open(key: string, stored: string): { verdict: Verdict; expiresAt: number | null } | undefined {
    const reject = (why: string): undefined => {
      this.#observer.macRejected();
      this.#options.log?.warn({ key, why }, 'shared cache entry rejected: its MAC does not verify; treated as a miss');
      return undefined;
    };
    if (stored.length < MAC_LENGTH + 1 || stored[MAC_LENGTH] !== '.') return reject('no MAC');
    const mac = Buffer.from(stored.slice(0, MAC_LENGTH), 'hex');
    const payload = stored.slice(MAC_LENGTH + 1);
    const expected = createHmac('sha256', this.#options.hmacKey).update(key).update('\n').update(payload).digest();
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return reject('wrong MAC');
    let parsed: Payload;
    try {
      parsed = JSON.parse(payload) as Payload;
    } catch {
      return reject('MAC verifies but the value is not JSON');
    }
    if (parsed.outcome === 'could-not-verify') return undefined;
    if (parsed.expiresAt !== null && parsed.expiresAt <= Date.now()) return undefined;
    const { expiresAt, ...verdict } = parsed;
    return { verdict, expiresAt };
  }

  /** Stores `verdict` for `ttlMs` (0 = no expiry) less up to --ttlJitter of it. */
  async set(key: string, verdict: Verdict, ttlMs: number): Promise<void> {
    if (verdict.outcome === 'could-not-verify') return;
    const jitter = this.#options.ttlJitter ?? 0.1;
    const ttl = ttlMs > 0 ? Math.max(1, Math.round(ttlMs * (1 - Math.random() * jitter))) : 0;
    const payload: Payload = {
      outcome: verdict.outcome,
      digest: verdict.digest,
      reason: verdict.reason,
      kind: verdict.kind,
      warnings: verdict.warnings,
      verifiedAt: verdict.verifiedAt,
      expiresAt: ttl > 0 ? Date.now() + ttl : null,
    };
    const value = sealValue(this.#options.hmacKey, key, JSON.stringify(payload));
    await this.#call('set', (redis) => (ttl > 0 ? redis.set(key, value, 'PX', ttl) : redis.set(key, value)));
  }

  /**
   * Takes the cross-replica lock for `key`. 'won': the caller verifies and must release(); a verdict:
   * another replica published it while we waited; 'timeout'/'unavailable': verify locally.
   */
  async acquire(key: string): Promise<{ lock: Lock } | { verdict: Verdict; expiresAt: number | null } | 'timeout' | 'unavailable'> {
    const lockKey = `${key}:lock`;
    const token = randomBytes(16).toString('hex');
    const taken = await this.#call('lock', (redis) => redis.set(lockKey, token, 'PX', this.#options.lockTtlMs, 'NX'));
    if (!taken) return 'unavailable';
    if (taken.value === 'OK') {
      const lock = { release: () => this.#release(lockKey, token) };
      // Another replica may have published and released between our miss and our lock.
      const published = await this.get(key);
      if (published) {
        await lock.release();
        this.#observer.lock('waited');
        return published;
      }
      this.#observer.lock('won');
      return { lock };
    }
    const deadline = Date.now() + this.#options.lockWaitMs;
    const interval = this.#options.pollIntervalMs ?? 25;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, interval));
      const found = await this.get(key);
      if (found) {
        this.#observer.lock('waited');
        return found;
      }
      // The lock is gone: the holder either published and released between the read above and this
      // check (read once more), or finished without publishing (could-not-verify, or it died and the
      // lock expired): stop waiting; a new lock round would only delay this request further.
      const still = await this.#call('lock-check', (redis) => redis.exists(lockKey));
      if (!still || still.value === 0) {
        const last = still && (await this.get(key));
        if (last) {
          this.#observer.lock('waited');
          return last;
        }
        break;
      }
    }
    this.#observer.lock('timeout');
    return 'timeout';
  }

  /**
   * Not under the breaker: a lock left behind (the breaker opened while its holder verified) would make
   * every replica that misses the key wait --redisLockWaitMilliseconds for a verdict that is not coming.
   * Without a connection the lock is left to its TTL.
   */
  async #release(lockKey: string, token: string): Promise<void> {
    if (this.#redis.status !== 'ready') return;
    try {
      await withDeadline(this.#redis.eval(RELEASE_SCRIPT, 1, lockKey, token), this.#options.commandTimeoutMs);
    } catch {
      this.#observer.redisError('unlock');
      this.#trip();
    }
  }

  close(): Promise<void> {
    this.#redis.disconnect();
    return Promise.resolve();
  }
}

export interface Lock {
  release(): Promise<void>;
}
