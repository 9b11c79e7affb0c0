// The operator, wired: list-watches → debounced, level-based reconcilers (bundle, certificates, CA injection),
// every write gated by leader election, probes and metrics. main.ts adds flags, signals and exit codes.
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { hostname } from 'node:os';
import {
  KubeClient,
  LeaderElector,
  ListWatcher,
  parseBindAddress,
  reuseConnections,
  type BackoffOptions,
  type KubeObject,
  type ListWatchEvent,
  type ObjectChange,
  type ResourceRef,
} from '@kna/shared';
import { CertificateRotator } from './certificates/index.js';
import { extraServiceHosts, type Flags } from './config/flags.js';
import { OPERATOR_ERR_BAD_FLAG } from './errors.js';
import { serveMetrics, serveProbes, type Listener } from './http/probes.js';
import { CaInjector } from './injection/injector.js';
import type { ClusterPolicy } from './injection/inject.js';
import { OperatorMetrics } from './metrics.js';
import { BundleReconciler, type ReconcileReport, type WatchedTrustPolicy, type WatchedTrustStore } from './reconcile/reconciler.js';
import { DebouncedRunner } from './reconcile/runner.js';
import { CLUSTER_POLICIES, TRUST_POLICIES, TRUST_STORES, configMapRef, releaseNames } from './resources.js';

interface WatchTuning {
  backoff?: BackoffOptions;
  watchTimeoutSeconds?: number;
  watchdogGraceMs?: number;
}

export interface OperatorOptions {
  flags: Flags;
  kubeConfig: KubeConfig;
  log: Logger;
  metrics?: OperatorMetrics;
  /** List-watch timings (tests shorten them). */
  watch?: WatchTuning;
  /** Size limit of the bundle text (tests lower it); the ConfigMap's limit minus headroom by default. */
  maxBundleBytes?: number;
}

export interface RunningOperator {
  readonly identity: string;
  readonly probeUrl: string | undefined;
  readonly metricsUrl: string | undefined;
  readonly metrics: OperatorMetrics;
  /** Resolves when the operator must exit: with the reason leadership was lost (exit non-zero). */
  readonly lost: Promise<string>;
  isLeader(): boolean;
  /** The last bundle reconcile (undefined before the first). */
  lastReport(): ReconcileReport | undefined;
  /** Stops everything; releases the Lease (if held) after the last write finished. */
  stop(): Promise<void>;
}

/**
 * Starts the operator on a copy of `options.kubeConfig` that reuses its connections (see reuseConnections). A copy,
 * so the caller's own clients keep their one-connection-per-request behaviour: a caller (a test) that shared the
 * operator's kept-alive pool was handed sockets the API server had already closed after the operator stopped.
 */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { flags, log } = options;
  const own = new KubeConfig();
  own.loadFromOptions({
    clusters: options.kubeConfig.clusters,
    users: options.kubeConfig.users,
    contexts: options.kubeConfig.contexts,
    currentContext: options.kubeConfig.currentContext,
  });
  const metrics = options.metrics ?? new OperatorMetrics();
  // Every request the operator makes goes through this client, so every one but a watch has the bound.
  const kube = new KubeClient(reuseConnections(own), {
    requestTimeoutMs: flags['kube-api-timeout'],
    onTimeout: (err) => {
      metrics.observeApiTimeout(err);
      log.warn(
        { verb: err.verb, resource: err.resource, namespace: err.namespace, name: err.objectName, timeoutMs: err.timeoutMs, code: err.code },
        'Kubernetes API request timed out (--kube-api-timeout); its caller retries',
      );
    },
  });
  const names = releaseNames(flags.name);
  const namespace = flags.namespace;
  const identity = flags.identity !== '' ? flags.identity : `${hostname()}_${process.pid}`;
  const core = kube.api(CoreV1Api);
  const custom = kube.api(CustomObjectsApi);
  const bad = { badFlag: (detail: string) => new OPERATOR_ERR_BAD_FLAG(detail) };
  const probeBind = parseBindAddress('health-probe-bind-address', flags['health-probe-bind-address'], bad);
  const metricsBind = parseBindAddress('metrics-bind-address', flags['metrics-bind-address'], bad);

  let stopping = false;
  const elector = flags['leader-elect']
    ? new LeaderElector({
        leases: kube.api(CoordinationV1Api),
        namespace,
        name: names.lease,
        identity,
        leaseDurationMs: flags['leader-elect-lease-duration'],
        renewDeadlineMs: flags['leader-elect-renew-deadline'],
        retryPeriodMs: flags['leader-elect-retry-period'],
        onEvent: (event) => {
          if (event.type === 'error') log.warn({ lease: names.lease, operation: event.operation, err: event.error }, 'leader election request failed');
          else if (event.type === 'observed') log.info({ lease: names.lease, leader: event.holder }, 'another replica leads');
          else log.info({ lease: names.lease, ...event }, `leader election: ${event.type}`);
        },
      })
    : undefined;
  const isLeader = () => !stopping && (elector?.isLeader() ?? true);

  // ---- watches ----
  const watchers: ListWatcher<KubeObject>[] = [];
  const watch = <T extends KubeObject>(
    ref: ResourceRef,
    onChange: (change?: ObjectChange<T>) => void,
    onEvent?: (event: ListWatchEvent) => void,
  ): ListWatcher<T> => {
    const source = kube.listWatchSource<T>(ref);
    const watcher = new ListWatcher<T>({
      source,
      onChange,
      resyncPeriodMs: flags.resyncPeriod,
      ...(options.watch?.backoff && { backoff: options.watch.backoff }),
      ...(options.watch?.watchTimeoutSeconds !== undefined && { watchTimeoutSeconds: options.watch.watchTimeoutSeconds }),
      ...(options.watch?.watchdogGraceMs !== undefined && { watchdogGraceMs: options.watch.watchdogGraceMs }),
      onEvent: (event) => {
        metrics.observeWatch(ref.plural, event);
        if (onEvent) onEvent(event);
        else if (event.type === 'list-failed')
          log.warn({ resource: source.description, status: event.statusCode, err: event.error, retryInMs: event.retryInMs }, 'list failed; retrying');
        else if (event.type === 'restart' && event.reason !== 'closed')
          log.info({ resource: source.description, reason: event.reason, err: event.error, retryInMs: event.retryInMs }, 'watch restarted');
      },
    });
    watchers.push(watcher);
    return watcher;
  };

  let lastReport: ReconcileReport | undefined;
  let reconciledOnce = false;
  const bundleRunner: DebouncedRunner = new DebouncedRunner(
    async () => {
      if (!isLeader()) return undefined;
      const started = performance.now();
      try {
        const report = await reconciler.reconcile();
        lastReport = report;
        const outcome = report.bundle === 'created' || report.bundle === 'updated' ? 'written' : report.bundle;
        metrics.observeReconcile(report, report.objectErrors > 0 ? 'error' : outcome, performance.now() - started);
        if (report.bundle !== 'not-synced' && report.objectErrors === 0 && !report.superseded) reconciledOnce = true;
        return report.next;
      } catch (err) {
        metrics.observeReconcile(undefined, 'error', performance.now() - started);
        throw err;
      }
    },
    { debounceMs: flags.debounce, onError: (err) => log.error({ err }, 'reconcile failed; retrying') },
  );

  // A change of what goes into the bundle supersedes a running reconcile's status phase; the echo of a status
  // write (same generation, finalizers and deletion state) only schedules a run, which then writes nothing.
  const onObjectChange = (change?: ObjectChange<WatchedTrustPolicy | WatchedTrustStore>) => {
    const before = change?.previous?.metadata;
    const after = change?.current?.metadata;
    const statusOnly =
      before !== undefined &&
      after !== undefined &&
      before.generation === after.generation &&
      before.deletionTimestamp === after.deletionTimestamp &&
      JSON.stringify(before.finalizers ?? []) === JSON.stringify(after.finalizers ?? []);
    bundleRunner.trigger({ supersede: !statusOnly });
  };
  const trustPolicies = watch<WatchedTrustPolicy>(TRUST_POLICIES, onObjectChange);
  const trustStores = watch<WatchedTrustStore>(TRUST_STORES, onObjectChange);
  const pluginConfig =
    flags.pluginConfigMap === ''
      ? undefined
      : { name: flags.pluginConfigMap, watcher: watch<V1ConfigMap>(configMapRef(namespace, flags.pluginConfigMap), () => bundleRunner.trigger()) };
  // The bundle ConfigMap itself: the reconciler compares with the answer to its own last write instead of reading
  // the ConfigMap on every run, so a change by anyone else (an edit, a delete) must make it read again.
  // Its metadata is enough (resourceVersions): the watch does not carry the bundle itself.
  const bundleWatcher: ListWatcher<KubeObject> = watch<KubeObject>({ ...configMapRef(namespace, names.bundle), metadataOnly: true }, (change) => {
    const current = change === undefined ? bundleWatcher.get(namespace, names.bundle) : change.current;
    if (reconciler.observeBundle(current?.metadata?.resourceVersion)) bundleRunner.trigger({ supersede: false });
  });
  const reconciler = new BundleReconciler({
    core,
    custom,
    namespace,
    bundleName: names.bundle,
    trustPolicies,
    trustStores,
    ...(pluginConfig && { pluginConfig }),
    mayWrite: isLeader,
    superseded: () => bundleRunner.superseded,
    log: log.child({ component: 'bundle' }),
    ...(options.maxBundleBytes !== undefined && { maxBundleBytes: options.maxBundleBytes }),
  });

  // ---- certificates and CA injection ----
  let caBundle = '';
  const rotator = new CertificateRotator(
    core,
    {
      namespace,
      serviceName: flags.serviceName,
      caConfigMapName: names.ca,
      caValidityMs: flags.caValidity,
      certValidityMs: flags.certValidity,
      extraHosts: extraServiceHosts(flags),
    },
    log.child({ component: 'certificates' }),
  );
  let injectionRunner: DebouncedRunner | undefined;
  const certificateRunner = new DebouncedRunner(
    async () => {
      if (!isLeader()) return undefined;
      const state = await rotator.reconcile();
      metrics.setCertificates(state.secrets);
      if (state.caBundlePem !== caBundle) {
        caBundle = state.caBundlePem;
        injectionRunner?.trigger();
      }
      return state.nextCheckAt;
    },
    { debounceMs: 0, onError: (err) => log.error({ err }, 'certificate reconcile failed; retrying'), retryMs: 5_000 },
  );
  if (flags['inject-ca']) {
    let crdMissing = false;
    const policies = watch<ClusterPolicy>(
      CLUSTER_POLICIES,
      () => injectionRunner?.trigger(),
      (event) => {
        if (event.type === 'list-failed' && event.statusCode === 404) {
          if (!crdMissing) log.info("Kyverno's ClusterPolicy CRD (clusterpolicies.kyverno.io/v1) is not installed: CA injection is off until it appears");
          crdMissing = true;
        } else if (event.type === 'list-failed')
          log.warn({ resource: 'clusterpolicies.kyverno.io', status: event.statusCode, err: event.error }, 'list failed; retrying');
        else if (event.type === 'listed' && crdMissing) {
          crdMissing = false;
          log.info("Kyverno's ClusterPolicy CRD appeared: CA injection is on");
        }
      },
    );
    const injector = new CaInjector({
      custom,
      policies,
      serviceName: flags.serviceName,
      namespace,
      extraHosts: extraServiceHosts(flags),
      mayWrite: isLeader,
      log: log.child({ component: 'ca-injection' }),
      onWrite: (outcome) => metrics.observeInjection(outcome),
    });
    injectionRunner = new DebouncedRunner(
      async () => {
        if (isLeader()) await injector.reconcile(caBundle);
        return undefined;
      },
      { debounceMs: flags.debounce, onError: (err) => log.error({ err }, 'CA injection failed; retrying') },
    );
  }
  const runners = [bundleRunner, certificateRunner, ...(injectionRunner ? [injectionRunner] : [])];

  // ---- listeners ----
  const listeners: Listener[] = [];
  const notReady = (): string[] => {
    if (stopping) return ['shutting down'];
    if (!reconciler.synced()) return ['watches not synced yet'];
    if (isLeader() && !reconciledOnce) return ['leader: first reconcile not finished'];
    return [];
  };
  try {
    if (probeBind) listeners.push(await serveProbes(probeBind, notReady));
    if (metricsBind) listeners.push(await serveMetrics(metricsBind, metrics.registry));
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  const [probeListener, metricsListener] = [probeBind ? listeners[0] : undefined, metricsBind ? listeners.at(-1) : undefined];

  for (const watcher of watchers) watcher.start();
  const startLeading = () => {
    metrics.setLeader(true);
    log.info({ identity }, 'leading: reconciling and writing');
    for (const runner of runners) runner.trigger();
  };
  const lost: Promise<string> = elector
    ? elector.run(startLeading).then((reason) => {
        metrics.setLeader(false);
        return reason;
      })
    : (startLeading(), new Promise<string>(() => undefined));
  const leaderLost = lost.then((reason) => (reason === 'stopped' ? new Promise<string>(() => undefined) : reason));
  log.info(
    {
      identity,
      namespace,
      bundle: names.bundle,
      lease: flags['leader-elect'] ? names.lease : undefined,
      probes: probeListener?.url,
      metrics: metricsListener?.url,
    },
    'operator started',
  );

  let stopped: Promise<void> | undefined;
  return {
    identity,
    probeUrl: probeListener?.url,
    metricsUrl: metricsListener?.url,
    metrics,
    lost: leaderLost,
    isLeader,
    lastReport: () => lastReport,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        await Promise.all(runners.map((r) => r.stop()));
        await Promise.all(watchers.map((w) => w.stop()));
        // Only after the last write: a standby that takes over at once never races this process.
        await elector?.stop({ release: true });
        metrics.setLeader(false);
        await Promise.all(listeners.map((l) => l.close()));
      })()),
  };
}
