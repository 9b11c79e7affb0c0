// One reconcile of TrustPolicies and TrustStores, a level-based function of what the watches hold now:
// render everything with shared's renderBundle (the same function the verifier's local mode runs), write the
// bundle ConfigMap if its text changed, then per object remove the original's finalizer, write the status if it
// changed and record an Event when Ready changed. Nothing depends on which event triggered the run, so running it
// twice, or after a restart, writes nothing new.
//
// What makes a run cheap when little changed (docs/benchmarks.md "Operator benchmarks"):
// - the render keeps per-object work in a RenderCache, so only objects with a new generation are validated and
//   parsed again;
// - the bundle ConfigMap is compared with the answer to the last write while the bundle's watch has seen no other
//   change, so an unchanged bundle costs no request and a changed one a single PUT;
// - a status is written only when the object's own outcome changed: status.bundleVersion names the first bundle
//   that holds the object as it is now, so a bundle that changed other objects rewrites none of the rest.
import type { CoreV1Api, CustomObjectsApi, V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  RenderCache,
  kubeErrorMessage,
  renderBundle,
  resourceStatus,
  statusCodeOf,
  TRUST_POLICY_KIND,
  TRUST_STORE_KIND,
  type ListWatcher,
  type ObjectStatus,
  type TrustPolicy,
  type TrustStore,
} from '@kna/shared';
import { ORIGINAL_FINALIZER, TRUST_POLICIES, TRUST_STORES } from '../resources.js';
import { writeBundle, type BundleWriteOutcome } from './bundleWriter.js';
import { readyOf, recordTransition, removeOriginalFinalizer, statusChanged, writeStatus, type CustomObject } from './objectWriter.js';

export type WatchedTrustPolicy = TrustPolicy & CustomObject;
export type WatchedTrustStore = TrustStore & CustomObject;

export interface BundleReconcilerOptions {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  namespace: string;
  /** Name of the bundle ConfigMap. */
  bundleName: string;
  trustPolicies: ListWatcher<WatchedTrustPolicy>;
  trustStores: ListWatcher<WatchedTrustStore>;
  /** The plugin ConfigMap's watcher and name; absent when --pluginConfigMap is "". */
  pluginConfig?: { watcher: ListWatcher<V1ConfigMap>; name: string };
  /** Asked before every write: false once leadership is lost (or never held). */
  mayWrite: () => boolean;
  log: Logger;
  /** Longest time between two runs (a periodic check); 5 minutes by default. */
  maxIntervalMs?: number;
  /**
   * True when a newer reconcile is already waiting: the object writes of this one stop early (the next run
   * recomputes every status anyway), so a status phase of a thousand objects never delays the next bundle.
   */
  superseded?: () => boolean;
  /** Object writes (status, finalizer) in flight at once; 16 by default. */
  writeConcurrency?: number;
  /** Size limit of the bundle text; shared's BUNDLE_MAX_BYTES by default (tests lower it). */
  maxBundleBytes?: number;
}

interface ReconcileTimings {
  /** renderBundle. */
  renderMs: number;
  /** Comparing with (and if needed writing) the bundle ConfigMap. */
  bundleMs: number;
  /** Status writes, finalizer removals and Events. */
  objectsMs: number;
}

export interface ReconcileReport {
  bundle: BundleWriteOutcome | 'too-large' | 'not-synced';
  version: string;
  bytes: number;
  statusWrites: number;
  finalizersRemoved: number;
  /** Objects by Ready status, for metrics. */
  ready: { kind: string; ready: boolean }[];
  /** Failed writes to single objects (retried on the next run). */
  objectErrors: number;
  /** The object writes stopped early because a newer reconcile was waiting. */
  superseded: boolean;
  /** When to run again at the latest. */
  next: Date;
  /** Objects the render worked on again (not taken from its cache). */
  reworked: number;
  /** GETs of the bundle ConfigMap. */
  bundleReads: number;
  timings: ReconcileTimings;
}

function isDeleting(object: CustomObject): boolean {
  return object.metadata.deletionTimestamp !== undefined;
}

/** A status this process wrote, and the resourceVersion it was written over. */
interface WrittenStatus {
  over: string | undefined;
  status: object;
}

export class BundleReconciler {
  readonly #options: BundleReconcilerOptions;
  readonly #cache = new RenderCache();
  /** The bundle ConfigMap as the API server returned it on the last write or read, while nobody else changed it. */
  #bundle: V1ConfigMap | undefined;
  /** resourceVersions the bundle's watch delivered while a write was in flight (undefined: none in flight). */
  #seenDuringWrite: (string | undefined)[] | undefined;
  /** Statuses written and not yet seen back on the watch, by kind/name. */
  readonly #written = new Map<string, WrittenStatus>();

  constructor(options: BundleReconcilerOptions) {
    this.#options = options;
  }

  /** The render cache (tests look at what it worked on). */
  get renderCache(): RenderCache {
    return this.#cache;
  }

  /**
   * The resourceVersion of the bundle ConfigMap as its watch sees it now (undefined: deleted). Returns true when
   * that is not what this process last wrote or read (someone else changed or deleted it): the caller triggers a
   * run, which reads the ConfigMap again. While a write is in flight the answer decides (see reconcile).
   */
  observeBundle(resourceVersion: string | undefined): boolean {
    if (this.#seenDuringWrite !== undefined) {
      this.#seenDuringWrite.push(resourceVersion);
      return false;
    }
    if (this.#bundle !== undefined && resourceVersion === this.#bundle.metadata?.resourceVersion) return false;
    this.#bundle = undefined;
    return true;
  }

  /** True once every input has been listed, so a render sees complete state. */
  synced(): boolean {
    const { trustPolicies, trustStores, pluginConfig } = this.#options;
    return trustPolicies.synced && trustStores.synced && (pluginConfig?.watcher.synced ?? true);
  }

  async reconcile(now = new Date()): Promise<ReconcileReport> {
    const options = this.#options;
    const next = new Date(now.getTime() + (options.maxIntervalMs ?? 300_000));
    const report: ReconcileReport = {
      bundle: 'not-synced',
      version: '',
      bytes: 0,
      statusWrites: 0,
      finalizersRemoved: 0,
      ready: [],
      objectErrors: 0,
      superseded: false,
      next,
      reworked: 0,
      bundleReads: 0,
      timings: { renderMs: 0, bundleMs: 0, objectsMs: 0 },
    };
    // Rendering from a partial view would drop objects from the bundle: wait for every first list.
    if (!this.synced()) return report;

    let phase = performance.now();
    const lap = (): number => {
      const at = performance.now();
      const ms = at - phase;
      phase = at;
      return ms;
    };
    const policies = options.trustPolicies.items();
    const stores = options.trustStores.items();
    const pluginData = options.pluginConfig ? (options.pluginConfig.watcher.get(options.namespace, options.pluginConfig.name)?.data ?? {}) : {};
    const rendered = renderBundle({
      trustPolicies: policies.filter((o) => !isDeleting(o)),
      trustStores: stores.filter((o) => !isDeleting(o)),
      pluginConfig: pluginData,
      now,
      cache: this.#cache,
      ...(options.maxBundleBytes !== undefined && { maxBytes: options.maxBundleBytes }),
    });
    report.reworked = this.#cache.reworked.length;
    report.timings.renderMs = lap();
    report.version = rendered.bundle.version;
    report.bytes = rendered.bytes;
    if (rendered.tooLarge) {
      report.bundle = 'too-large';
      options.log.error({ bytes: rendered.bytes, version: rendered.bundle.version }, 'bundle too large: not written, reported on every object');
    } else {
      this.#seenDuringWrite = [];
      let result;
      try {
        result = await writeBundle(
          options.core,
          { namespace: options.namespace, name: options.bundleName, text: rendered.text, version: rendered.bundle.version, mayWrite: options.mayWrite },
          this.#bundle,
        );
        // The answer is trusted as current unless the watch delivered another version meanwhile (its own echo is
        // fine); otherwise run again at once, which reads the ConfigMap.
        const answered = result.current?.metadata?.resourceVersion;
        if (this.#seenDuringWrite.every((seen) => seen === answered)) this.#bundle = result.current;
        else {
          this.#bundle = undefined;
          report.next = now;
        }
      } catch (err) {
        this.#bundle = undefined;
        throw err;
      } finally {
        this.#seenDuringWrite = undefined;
      }
      report.bundle = result.outcome;
      report.bundleReads = result.reads;
      if (report.bundle === 'created' || report.bundle === 'updated')
        options.log.info({ version: rendered.bundle.version, bytes: rendered.bytes, outcome: report.bundle }, 'bundle written');
    }

    report.timings.bundleMs = lap();

    const statuses = new Map<string, ObjectStatus>(rendered.statuses.map((s) => [`${s.kind}/${s.name}`, s]));
    const objects: [string, CustomObject][] = [
      ...policies.map((o): [string, CustomObject] => [TRUST_POLICY_KIND, o]),
      ...stores.map((o): [string, CustomObject] => [TRUST_STORE_KIND, o]),
    ];
    // Object writes are independent of each other: a few in parallel, so that a cold start with a thousand
    // objects is not a thousand sequential round trips.
    let nextObject = 0;
    const worker = async () => {
      while (nextObject < objects.length && options.superseded?.() !== true) {
        const [kind, object] = objects[nextObject++] as [string, CustomObject];
        try {
          await this.#reconcileObject(kind, object, statuses.get(`${kind}/${object.metadata.name}`), rendered.bundle.version, now, report);
        } catch (err) {
          // 409/404: the object changed or went away meanwhile; the watch brings the new state and another run.
          const code = statusCodeOf(err);
          if (code !== 409 && code !== 404) {
            report.objectErrors++;
            options.log.warn({ err: kubeErrorMessage(err), kind, name: object.metadata.name }, 'writing an object failed; retried on the next reconcile');
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.writeConcurrency ?? 16, Math.max(1, objects.length)) }, worker));
    report.superseded = nextObject < objects.length;
    report.timings.objectsMs = lap();
    // Forget written statuses of objects that went away.
    const present = new Set(objects.map(([kind, object]) => `${kind}/${object.metadata.name}`));
    for (const key of this.#written.keys()) if (!present.has(key)) this.#written.delete(key);
    for (const status of rendered.statuses) {
      report.ready.push({ kind: status.kind, ready: status.ready });
      // A certificate that expires changes a store's Ready: reconcile right after.
      if (status.earliestExpiry !== undefined) {
        const expiry = Date.parse(status.earliestExpiry) + 1_000;
        if (expiry > now.getTime() && expiry < report.next.getTime()) report.next = new Date(expiry);
      }
    }
    return report;
  }

  async #reconcileObject(
    kind: string,
    object: CustomObject,
    status: ObjectStatus | undefined,
    bundleVersion: string,
    now: Date,
    report: ReconcileReport,
  ): Promise<void> {
    const { custom, core, mayWrite, log } = this.#options;
    const ref = kind === TRUST_POLICY_KIND ? TRUST_POLICIES : TRUST_STORES;
    if (object.metadata.finalizers?.includes(ORIGINAL_FINALIZER) === true) {
      if (!mayWrite()) return;
      try {
        await removeOriginalFinalizer(custom, ref, object);
        report.finalizersRemoved++;
        log.info({ kind, name: object.metadata.name }, `removed the original's finalizer ${ORIGINAL_FINALIZER}`);
        // The object has a new resourceVersion now: its status is written on the run the patch triggers.
        return;
      } catch (err) {
        // 409: it changed meanwhile (the watch brings it back). Anything else (403 when the chart's
        // operator.removeOriginalFinalizers is off) must not keep its status from being written.
        if (statusCodeOf(err) === 409) return;
        log.warn(
          { err, kind, name: object.metadata.name },
          `could not remove the original's finalizer ${ORIGINAL_FINALIZER}; deleting this object will wait for it`,
        );
      }
    }
    if (status === undefined || isDeleting(object)) return;
    // The object's own outcome decides: computed with the bundle version its status names, an unchanged status
    // stays as it is (status.bundleVersion: the first bundle that holds the object as it is now).
    const named = object.status?.bundleVersion;
    if (typeof named === 'string' && !statusChanged(object.status, resourceStatus(status, { bundleVersion: named, now, previous: object.status }))) return;
    const next = resourceStatus(status, { bundleVersion, now, previous: object.status });
    if (!statusChanged(object.status, next)) return;
    // Written already by this process over this very resourceVersion, and the watch has not brought the result
    // back yet: writing again would only meet a 409.
    const key = `${kind}/${object.metadata.name}`;
    const written = this.#written.get(key);
    if (written !== undefined && written.over === object.metadata.resourceVersion && !statusChanged(written.status, next)) return;
    if (!mayWrite()) return;
    // Recorded before the write: its echo can arrive on the watch before the answer does.
    this.#written.set(key, { over: object.metadata.resourceVersion, status: next });
    try {
      await writeStatus(custom, ref, kind, object, next);
    } catch (err) {
      this.#written.delete(key);
      throw err;
    }
    report.statusWrites++;
    const before = readyOf(object.status);
    const after = readyOf(next);
    // Transitions only: an object that is Ready the first time it is seen gets no Event (a cold start with a
    // thousand objects would write a thousand), one that is not gets a Warning.
    const transition =
      before === undefined ? after?.status === 'False' : after !== undefined && (before.status !== after.status || before.reason !== after.reason);
    if (after !== undefined && transition) {
      await recordTransition(core, kind, object, after, now).catch((err: unknown) =>
        log.warn({ err, kind, name: object.metadata.name }, 'recording an Event failed'),
      );
    }
  }
}
