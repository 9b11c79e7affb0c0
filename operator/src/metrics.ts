// Prometheus metrics of the operator, served on --metrics-bind-address. Labels are bounded: kinds, outcomes,
// watched resources, restart reasons, API verbs, Secret names; never object names.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { KubeRequestTimeoutError, ListWatchEvent } from '@kna/shared';
import type { ReconcileReport } from './reconcile/reconciler.js';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly #reconcile: Histogram<'outcome'>;
  readonly #phases: Histogram<'phase'>;
  readonly #reworked: Counter;
  readonly #bundleReads: Counter;
  readonly #bundleWrites: Counter<'outcome'>;
  readonly #bundleBytes: Gauge;
  readonly #bundleInfo: Gauge<'version'>;
  readonly #objects: Gauge<'kind' | 'ready'>;
  readonly #statusWrites: Counter;
  readonly #leader: Gauge;
  readonly #notAfter: Gauge<'secret'>;
  readonly #watchRestarts: Counter<'resource' | 'reason'>;
  readonly #listFailures: Counter<'resource' | 'status'>;
  readonly #injections: Counter<'outcome'>;
  readonly #apiTimeouts: Counter<'verb' | 'resource'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.#reconcile = new Histogram({
      name: 'kna_operator_reconcile_duration_seconds',
      help: 'Bundle reconciles by outcome (written, unchanged, too-large, error, standby)',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#phases = new Histogram({
      name: 'kna_operator_reconcile_phase_seconds',
      help: 'Time of each phase of a bundle reconcile: render, bundle (compare and write the ConfigMap), objects (statuses, finalizers, Events)',
      labelNames: ['phase'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#reworked = new Counter({
      name: 'kna_operator_render_reworked_objects_total',
      help: 'Objects the render validated and parsed again (not taken from its cache)',
      registers,
    });
    this.#bundleReads = new Counter({
      name: 'kna_operator_bundle_reads_total',
      help: "GETs of the bundle ConfigMap (only when the last write's answer is not known to be current)",
      registers,
    });
    this.#bundleWrites = new Counter({
      name: 'kna_operator_bundle_writes_total',
      help: 'Writes of the bundle ConfigMap (created, updated)',
      labelNames: ['outcome'],
      registers,
    });
    this.#bundleBytes = new Gauge({ name: 'kna_operator_bundle_bytes', help: 'Size of the last rendered bundle', registers });
    this.#bundleInfo = new Gauge({
      name: 'kna_operator_bundle_info',
      help: 'The last rendered bundle (value 1, version label)',
      labelNames: ['version'],
      registers,
    });
    this.#objects = new Gauge({ name: 'kna_operator_objects', help: 'TrustPolicies and TrustStores by Ready', labelNames: ['kind', 'ready'], registers });
    this.#statusWrites = new Counter({ name: 'kna_operator_status_writes_total', help: 'Status subresource writes', registers });
    this.#leader = new Gauge({ name: 'kna_operator_leader', help: '1 while this process holds the Lease and may write', registers });
    this.#notAfter = new Gauge({
      name: 'kna_operator_certificate_not_after_seconds',
      help: 'Expiry (Unix seconds) of the certificate in each Secret',
      labelNames: ['secret'],
      registers,
    });
    this.#watchRestarts = new Counter({
      name: 'kna_operator_watch_restarts_total',
      help: 'Watches restarted, by resource and reason (closed, gone, error, stalled, resync)',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.#listFailures = new Counter({
      name: 'kna_operator_list_failures_total',
      help: 'Failed lists by resource and HTTP status (0: no answer)',
      labelNames: ['resource', 'status'],
      registers,
    });
    this.#injections = new Counter({
      name: 'kna_operator_ca_injections_total',
      help: 'ClusterPolicy updates by CA injection (updated, error)',
      labelNames: ['outcome'],
      registers,
    });
    this.#apiTimeouts = new Counter({
      name: 'kna_operator_kube_api_timeouts_total',
      help: 'Kubernetes API requests that got no answer within --kube-api-timeout, by verb (get, list, create, update, patch, delete) and resource',
      labelNames: ['verb', 'resource'],
      registers,
    });
  }

  observeReconcile(report: ReconcileReport | undefined, outcome: string, durationMs: number): void {
    this.#reconcile.observe({ outcome }, durationMs / 1000);
    if (!report || report.bundle === 'not-synced') return;
    if (report.bundle === 'created' || report.bundle === 'updated') this.#bundleWrites.inc({ outcome: report.bundle });
    this.#phases.observe({ phase: 'render' }, report.timings.renderMs / 1000);
    this.#phases.observe({ phase: 'bundle' }, report.timings.bundleMs / 1000);
    this.#phases.observe({ phase: 'objects' }, report.timings.objectsMs / 1000);
    this.#reworked.inc(report.reworked);
    this.#bundleReads.inc(report.bundleReads);
    this.#bundleBytes.set(report.bytes);
    this.#bundleInfo.reset();
    this.#bundleInfo.set({ version: report.version }, 1);
    this.#statusWrites.inc(report.statusWrites);
    this.#objects.reset();
    for (const kind of ['TrustPolicy', 'TrustStore']) for (const ready of [true, false]) this.#objects.set({ kind, ready: String(ready) }, 0);
    for (const o of report.ready) this.#objects.inc({ kind: o.kind, ready: String(o.ready) });
  }

  setLeader(leader: boolean): void {
    this.#leader.set(leader ? 1 : 0);
  }

  setCertificates(secrets: readonly { name: string; notAfter: Date }[]): void {
    this.#notAfter.reset();
    for (const s of secrets) this.#notAfter.set({ secret: s.name }, Math.floor(s.notAfter.getTime() / 1000));
  }

  observeWatch(resource: string, event: ListWatchEvent): void {
    if (event.type === 'restart') this.#watchRestarts.inc({ resource, reason: event.reason });
    else if (event.type === 'list-failed') this.#listFailures.inc({ resource, status: String(event.statusCode ?? 0) });
  }

  observeApiTimeout(err: Pick<KubeRequestTimeoutError, 'verb' | 'resource'>): void {
    this.#apiTimeouts.inc({ verb: err.verb, resource: err.resource });
  }

  observeInjection(outcome: 'updated' | 'error'): void {
    this.#injections.inc({ outcome });
  }
}
