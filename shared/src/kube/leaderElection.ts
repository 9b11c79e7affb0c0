// Leader election on a coordination.k8s.io/v1 Lease with client-go's semantics (tools/leaderelection), a small
// mechanism of its own that the operator asks before every write:
// - A candidate tries to acquire or renew every retry period (jittered by up to 20 %, as client-go's
//   JitterFactor 1.2). It takes the Lease when it is free (no holder: released) or when the holder has not renewed
//   for leaseDurationSeconds *as observed locally*: the candidate measures the time since the record last changed
//   on its own clock, never by comparing the Lease's renewTime with its clock, so clock skew between replicas
//   cannot make it steal a live Lease.
// - Every update goes through optimistic concurrency (the resourceVersion read): of two candidates exactly one wins.
// - The leader renews every retry period. `isLeader()` is true only while the last successful renewal is younger
//   than the renew deadline, measured on the wall clock, so a leader whose process was paused (SIGSTOP, a long GC)
//   stops writing the moment it runs again, before anything else happens; it then reports the loss and the
//   program exits (client-go's OnStoppedLeading; a process that lost the lease never re-campaigns).
// - Because the lease duration is longer than the renew deadline, a standby can only take over after the old
//   leader has stopped writing.
// - release() (on SIGTERM) empties holderIdentity with a 1 s duration, client-go's ReleaseOnCancel, so a standby
//   takes over at its next retry instead of waiting out the lease.
// MicroTime fields are written with toMicroTime (six fractional digits; client-node would send three).
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoordinationV1Api, V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { toMicroTime } from './microTime.js';
import { kubeErrorMessage, statusCodeOf } from './listWatch.js';

export interface LeaderElectionOptions {
  leases: CoordinationV1Api;
  namespace: string;
  /** The Lease's name. */
  name: string;
  /** This candidate's holderIdentity (unique per process). */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** What happened, for logs and metrics. */
  onEvent?: (event: LeaderElectionEvent) => void;
  random?: () => number;
}

export type LeaderElectionEvent =
  | { type: 'acquired'; transitions: number }
  | { type: 'observed'; holder: string }
  | { type: 'lost'; reason: string }
  | { type: 'released' }
  | { type: 'error'; operation: 'get' | 'create' | 'update' | 'release'; error: string };

function microTime(at: Date): V1MicroTime {
  // client-node types MicroTime as a Date but sends a string unchanged (see microTime.ts).
  return toMicroTime(at) as unknown as V1MicroTime;
}

const errorText = kubeErrorMessage;

/** Campaigns for a Lease and holds it (see the file comment). */
export class LeaderElector {
  readonly #options: LeaderElectionOptions;
  readonly #stop = new AbortController();
  /** The record last read or written and when it was first seen locally (client-go's observedRecord/Time). */
  #observed: { spec: string; at: number; lease: V1Lease } | undefined;
  #lastRenewAt = Number.NEGATIVE_INFINITY;
  #leading = false;
  #lost: string | undefined;
  /** The acquire/renew request in flight, so that release() never races it. */
  #attempt: Promise<boolean> | undefined;

  constructor(options: LeaderElectionOptions) {
    if (!(options.leaseDurationMs > options.renewDeadlineMs)) throw new RangeError('leaseDuration must be greater than renewDeadline');
    if (!(options.renewDeadlineMs > options.retryPeriodMs) || options.retryPeriodMs <= 0)
      throw new RangeError('renewDeadline must be greater than retryPeriod > 0');
    this.#options = options;
  }

  get identity(): string {
    return this.#options.identity;
  }

  /** True while this process holds the Lease and renewed it within the renew deadline: only then may it write. */
  isLeader(): boolean {
    return this.#leading && this.#lost === undefined && Date.now() < this.#lastRenewAt + this.#options.renewDeadlineMs;
  }

  /** The holder last observed (this process when leading), or undefined when the Lease is free or unknown. */
  get observedHolder(): string | undefined {
    const holder = this.#observed?.lease.spec?.holderIdentity;
    return holder === undefined || holder === '' ? undefined : holder;
  }

  /**
   * Campaigns until acquired, then renews. Resolves with the reason leadership ended (renewal failed within the
   * deadline, the Lease was taken, or stop()), never before leading unless stopped.
   */
  async run(onStartedLeading: () => void): Promise<string> {
    while (!this.#stopped()) {
      if (await this.#tryAcquireOrRenew()) break;
      await this.#pause(this.#jittered());
    }
    if (this.#stopped()) return 'stopped';
    this.#leading = true;
    this.#options.onEvent?.({ type: 'acquired', transitions: this.#observed?.lease.spec?.leaseTransitions ?? 0 });
    onStartedLeading();
    while (!this.#stopped()) {
      await this.#pause(this.#options.retryPeriodMs);
      if (this.#stopped()) break;
      if (!this.isLeader()) return this.#loseWith(`not renewed within the renew deadline of ${this.#options.renewDeadlineMs} ms`);
      const renewed = await this.#tryAcquireOrRenew();
      if (this.#lost !== undefined) return this.#lost;
      if (!renewed && !this.isLeader()) return this.#loseWith(`not renewed within the renew deadline of ${this.#options.renewDeadlineMs} ms`);
    }
    return 'stopped';
  }

  /** Stops campaigning/renewing; with `release`, first hands the Lease back if this process still leads. */
  async stop(options: { release: boolean }): Promise<void> {
    const wasLeader = this.isLeader();
    this.#stop.abort();
    await this.#attempt;
    const stillLeader = wasLeader && this.isLeader();
    this.#leading = false;
    if (options.release && stillLeader) await this.#release();
  }

  #loseWith(reason: string): string {
    this.#lost ??= reason;
    this.#leading = false;
    this.#options.onEvent?.({ type: 'lost', reason: this.#lost });
    return this.#lost;
  }

  #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  #jittered(): number {
    return this.#options.retryPeriodMs * (1 + 0.2 * (this.#options.random ?? Math.random)());
  }

  async #pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.#stop.signal }).catch(() => undefined);
  }

  #observe(lease: V1Lease): void {
    const spec = JSON.stringify(lease.spec ?? {});
    if (this.#observed?.spec !== spec) {
      const previousHolder = this.#observed?.lease.spec?.holderIdentity ?? '';
      this.#observed = { spec, at: Date.now(), lease };
      const holder = lease.spec?.holderIdentity ?? '';
      // Once per new holder, not on each of its renewals.
      if (holder !== '' && holder !== this.#options.identity && holder !== previousHolder) this.#options.onEvent?.({ type: 'observed', holder });
    } else this.#observed.lease = lease;
  }

  /**
   * One API request of an attempt, bounded by the renew deadline (client-go bounds a renewal the same way): a
   * request that never answers fails its attempt, with the reason as an error event, and the next attempt retries,
   * instead of stalling the election (no Lease won, or a leader that never renews) for as long as it hangs.
   */
  async #bounded<T>(operation: string, call: Promise<T>): Promise<T> {
    const limitMs = this.#options.renewDeadlineMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the API server did not answer the Lease ${operation} within ${limitMs} ms`)), limitMs);
    });
    try {
      return await Promise.race([call, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** client-go's tryAcquireOrRenew: true when this process holds the Lease afterwards. */
  #tryAcquireOrRenew(): Promise<boolean> {
    const attempt = this.#acquireOrRenew();
    this.#attempt = attempt;
    return attempt;
  }

  async #acquireOrRenew(): Promise<boolean> {
    const { leases, namespace, name, identity } = this.#options;
    const started = Date.now();
    const now = new Date(started);
    const durationSeconds = Math.max(1, Math.ceil(this.#options.leaseDurationMs / 1000));
    let current: V1Lease;
    try {
      current = await this.#bounded('get', leases.readNamespacedLease({ name, namespace }));
    } catch (err) {
      if (statusCodeOf(err) !== 404) {
        this.#options.onEvent?.({ type: 'error', operation: 'get', error: errorText(err) });
        return false;
      }
      try {
        const created = await this.#bounded(
          'create',
          leases.createNamespacedLease({
            namespace,
            body: {
              metadata: { name, namespace },
              spec: {
                holderIdentity: identity,
                leaseDurationSeconds: durationSeconds,
                acquireTime: microTime(now),
                renewTime: microTime(now),
                leaseTransitions: 0,
              },
            },
          }),
        );
        this.#observe(created);
        this.#lastRenewAt = started;
        return true;
      } catch (createErr) {
        this.#options.onEvent?.({ type: 'error', operation: 'create', error: errorText(createErr) });
        return false;
      }
    }
    this.#observe(current);
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const observedAt = this.#observed?.at ?? started;
    const validUntil = observedAt + (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (holder !== '' && holder !== identity && validUntil > started) return false;
    if (holder !== identity && this.#leading) {
      // Someone else holds it while this process thought it led: the Lease was taken over.
      this.#loseWith(`the Lease is held by ${holder === '' ? 'nobody (released)' : holder}`);
      return false;
    }
    const acquiring = holder !== identity;
    const body: V1Lease = {
      metadata: { name, namespace, ...(current.metadata?.resourceVersion !== undefined && { resourceVersion: current.metadata.resourceVersion }) },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: microTime(now),
        acquireTime: acquiring ? microTime(now) : (spec.acquireTime ?? microTime(now)),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (acquiring && holder !== '' ? 1 : 0),
      },
    };
    if (!acquiring && !this.isLeader() && this.#leading) return false;
    try {
      const updated = await this.#bounded('update', leases.replaceNamespacedLease({ name, namespace, body }));
      this.#observe(updated);
      this.#lastRenewAt = started;
      return true;
    } catch (err) {
      this.#options.onEvent?.({ type: 'error', operation: 'update', error: errorText(err) });
      return false;
    }
  }

  async #release(): Promise<void> {
    const { leases, namespace, name } = this.#options;
    const lease = this.#observed?.lease;
    if (lease?.spec?.holderIdentity !== this.#options.identity) return;
    const now = new Date();
    try {
      await this.#bounded(
        'release',
        leases.replaceNamespacedLease({
          name,
          namespace,
          body: {
            metadata: { name, namespace, ...(lease.metadata?.resourceVersion !== undefined && { resourceVersion: lease.metadata.resourceVersion }) },
            spec: { leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now), leaseTransitions: lease.spec.leaseTransitions ?? 0 },
          },
        }),
      );
      this.#options.onEvent?.({ type: 'released' });
    } catch (err) {
      // A 409 means someone else has it already: nothing to release.
      this.#options.onEvent?.({ type: 'error', operation: 'release', error: errorText(err) });
    }
  }
}
