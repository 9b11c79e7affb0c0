// What test suites use to get a real API server: a fresh control plane per suite, or a namespace on a
// shared one, torn down by node:test `after` hooks even when a test fails, and by the processes.ts exit
// hook (plus the directory removal below) when the test process ends without running them.
//
//   import { useTestControlPlane, withNamespace } from '@kna/e2e';
//   const kube = useTestControlPlane({ shared: true });  // before(): start (or reuse); after(): stop
//   it('…', () => withNamespace(kube(), async (ns) => {
//     await kube().kubectl(['-n', ns, 'create', 'configmap', 'x']);
//     const core = kube().kubeConfig().makeApiClient(CoreV1Api);
//   }));
//
// Without `shared`, the suite gets a control plane of its own (for cluster-scoped objects: CRDs,
// webhooks, ClusterRoles).
import { after, before } from 'node:test';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import {
  readControlPlaneState,
  startControlPlane,
  writeUserKubeconfig,
  type ControlPlaneOptions,
  type ControlPlaneState,
  type StartTimings,
} from './controlPlane.js';
import { helm, kubeConfigForToken, kubeConfigFromFile, kubectl, type CommandOptions, type CommandResult } from './clients.js';
import { KUBE_ERR_NOT_STARTED } from './errors.js';
import type { ClientCertOptions } from './pki.js';

export interface TestControlPlane extends ControlPlaneState {
  /** False when attached to a control plane another process owns (KNA_KUBE_DIR): `stop()` leaves it running. */
  readonly owned: boolean;
  /** How long the start took; undefined when attached. */
  readonly timings: StartTimings | undefined;
  /** client-node configuration of the admin (system:masters). */
  kubeConfig(): KubeConfig;
  /** client-node configuration that presents `token` (a ServiceAccount token from a TokenRequest). */
  kubeConfigForToken(token: string): KubeConfig;
  /** client-node configuration of a client-certificate user, for RBAC tests. */
  kubeConfigForUser(user: ClientCertOptions): Promise<KubeConfig>;
  kubectl(args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
  helm(args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
  /** Creates a namespace with a unique name (`<prefix>-<random>`); remove it with deleteNamespace. */
  createNamespace(prefix?: string): Promise<string>;
  /**
   * Deletes a namespace without waiting: with no kube-controller-manager there is no namespace
   * controller, so it stays Terminating (its objects with it) until the control plane stops
   * (README "Test components"). Unique names keep tests apart.
   */
  deleteNamespace(name: string): Promise<void>;
  /** Stops the control plane and removes its directory (owned only; safe to call twice). */
  stop(): Promise<void>;
  /** Kills kube-apiserver, keeping etcd and its data (owned control planes only: an outage for clients to survive). */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and etcd data; resolves when it is ready. */
  startApiServer(): Promise<void>;
}

interface Ownership {
  readonly owned: boolean;
  readonly timings: StartTimings | undefined;
  readonly stop: () => Promise<void>;
  readonly stopApiServer?: () => Promise<void>;
  readonly startApiServer?: () => Promise<void>;
}

function wrap(state: ControlPlaneState, { owned, timings, stop, stopApiServer, startApiServer }: Ownership): TestControlPlane {
  const notOwned = () => Promise.reject(new Error('only a control plane this process started can stop and start its kube-apiserver'));
  let admin: KubeConfig | undefined;
  const kubeConfig = () => (admin ??= kubeConfigFromFile(state.kubeconfig));
  return {
    ...state,
    owned,
    timings,
    kubeConfig,
    kubeConfigForToken: (token) => kubeConfigForToken(state, token),
    kubeConfigForUser: async (user) => kubeConfigFromFile(await writeUserKubeconfig(state, user)),
    kubectl: (args, options) => kubectl(state, args, options),
    helm: (args, options) => helm(state, args, options),
    createNamespace: async (prefix = 'test') => {
      const name = `${prefix}-${randomBytes(4).toString('hex')}`;
      await kubeConfig()
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name } } });
      return name;
    },
    deleteNamespace: async (name) => {
      await kubeConfig().makeApiClient(CoreV1Api).deleteNamespace({ name });
    },
    stop,
    stopApiServer: stopApiServer ?? notOwned,
    startApiServer: startApiServer ?? notOwned,
  };
}

/**
 * Starts a fresh control plane owned by this process. The caller stops it (an `after` hook, or
 * `t.after` inside a test); if the process ends first, its processes are killed and its directory removed.
 */
export async function startTestControlPlane(options: ControlPlaneOptions = {}): Promise<TestControlPlane> {
  const cp = await startControlPlane({ ...options, outliveParent: false });
  // processes.ts kills the process groups on exit; this removes the files (etcd data, keys) with them.
  // Retried: a process killed a moment ago (SIGKILL is asynchronous) may still add a file to the directory.
  const removeDir = () => rmSync(cp.dir, { recursive: true, force: true, maxRetries: 5 });
  process.on('exit', removeDir);
  return wrap(cp, {
    owned: true,
    timings: cp.timings,
    stop: async () => {
      await cp.stop();
      process.off('exit', removeDir);
    },
    stopApiServer: () => cp.stopApiServer(),
    startApiServer: () => cp.startApiServer(),
  });
}

// The control plane that suites using `shared: true` have in common, counted so that the last suite to
// finish stops it: a running child process keeps the test process alive, so it cannot simply be left
// to the exit hook.
let shared: { readonly cp: Promise<TestControlPlane>; users: number } | undefined;

function acquireShared(): Promise<TestControlPlane> {
  if (!shared) {
    const dir = process.env.KNA_KUBE_DIR;
    shared = {
      users: 0,
      cp: dir
        ? Promise.resolve(wrap(readControlPlaneState(dir), { owned: false, timings: undefined, stop: () => Promise.resolve() }))
        : startTestControlPlane(),
    };
  }
  shared.users++;
  // Suites get a handle whose stop() does nothing: the others may still be using it.
  return shared.cp.then((cp) => ({ ...cp, stop: () => Promise.resolve() }));
}

async function releaseShared(): Promise<void> {
  if (!shared) return;
  shared.users--;
  if (shared.users > 0) return;
  const { cp } = shared;
  shared = undefined;
  // A start that failed was reported by the suite's before hook already.
  await cp.then(
    (started) => started.stop(),
    () => undefined,
  );
}

export interface UseOptions extends ControlPlaneOptions {
  /**
   * Share one control plane with the other suites of this test process that ask for it (isolate tests
   * with namespaces). When KNA_KUBE_DIR names a control plane started with
   * `eval "$(pnpm -s harness kube up)"`, that one is used and left running, so a developer pays the
   * start once for many runs.
   */
  readonly shared?: boolean;
}

/**
 * Registers `before` (start) and `after` (stop) hooks in the current suite (call it at the top level of
 * a test file or inside `describe`, not inside a hook or a test) and returns an accessor for the tests.
 * node:test runs `after` hooks whether or not the tests passed.
 */
export function useTestControlPlane(options: UseOptions = {}): () => TestControlPlane {
  let cp: TestControlPlane | undefined;
  const { shared: useShared, ...startOptions } = options;
  before(async () => {
    cp = useShared === true ? await acquireShared() : await startTestControlPlane(startOptions);
    if (cp.timings) console.log(`control plane ready in ${cp.timings.totalMs} ms (${JSON.stringify(cp.timings)}) at ${cp.server}`);
    else console.log(`using the control plane of KNA_KUBE_DIR at ${cp.server}`);
  });
  after(async () => {
    if (useShared === true) await releaseShared();
    else await cp?.stop();
  });
  return () => {
    if (!cp) throw new KUBE_ERR_NOT_STARTED();
    return cp;
  };
}

/** Runs `fn` with a fresh namespace and deletes the namespace afterwards, whether `fn` succeeded or not. */
export async function withNamespace<T>(cp: TestControlPlane, fn: (namespace: string) => Promise<T>, prefix?: string): Promise<T> {
  const namespace = await cp.createNamespace(prefix);
  try {
    return await fn(namespace);
  } finally {
    await cp.deleteNamespace(namespace);
  }
}

export interface EventuallyOptions {
  /** 30 s by default. */
  readonly timeoutMs?: number;
  /** Pause between attempts; 100 ms by default. */
  readonly intervalMs?: number;
}

/**
 * Calls `probe` until it resolves, and resolves with its value; after the deadline, rejects with the
 * last error. For conditions the API server reaches asynchronously (a new CRD in discovery), instead
 * of fixed sleeps.
 */
export async function eventually<T>(probe: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
    await sleep(options.intervalMs ?? 100);
  }
}

/**
 * A CRD that accepts any content (`x-kubernetes-preserve-unknown-fields`), for the foreign resources tests refer to
 * without owning them: Kyverno's ClusterPolicy (CA injection, the chart's samples) and the Prometheus Operator's
 * ServiceMonitor (the chart's optional ServiceMonitor).
 */
export function schemalessCrd(group: string, kind: string, plural: string, scope: 'Cluster' | 'Namespaced', shortNames: readonly string[] = []): string {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.${group}
spec:
  group: ${group}
  scope: ${scope}
  names: {kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List${shortNames.length > 0 ? `, shortNames: [${shortNames.join(', ')}]` : ''}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;
}
