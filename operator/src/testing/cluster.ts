// Test helpers for the operator on the real API server of the test control plane: the product's CRDs from the
// chart, a minimal Kyverno ClusterPolicy CRD, manifests, an in-process operator with test timings, and a counter
// of the writes a ConfigMap receives (a real watch, so every write the API server accepts is seen), and a
// verifier process serving a mirrored bundle.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { pino } from 'pino';
import { eventually, freePort, schemalessCrd, toolsEnv, type TestControlPlane } from '@kna/e2e';
import { CHART_CRD_DIR, KubeClient, type KubeObject } from '@kna/shared';
import { parseFlags } from '../config/flags.js';
import { startOperator, type RunningOperator } from '../operator.js';
import { configMapRef } from '../resources.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Applies the chart's CRDs and waits until they are served (discovery included). */
export async function applyProductCrds(cp: TestControlPlane): Promise<void> {
  const dir = join(ROOT, CHART_CRD_DIR);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    await cp.kubectl(['apply', '-f', '-'], { input: readFileSync(join(dir, file), 'utf8') });
  }
  await cp.kubectl(['wait', '--for=condition=Established', 'crd/trustpolicies.notation.nirmata.io', 'crd/truststores.notation.nirmata.io', '--timeout=60s']);
  await eventually(() => cp.kubectl(['get', 'tp,ts']), { timeoutMs: 60_000 });
}

/** Kyverno's ClusterPolicy reduced to what CA injection touches: any content is kept. */
export const CLUSTER_POLICY_CRD = schemalessCrd('kyverno.io', 'ClusterPolicy', 'clusterpolicies', 'Cluster', ['cpol']);

export function trustStore(name: string, pem: string, extra: { finalizers?: string[] } = {}): string {
  return JSON.stringify({
    apiVersion: 'notation.nirmata.io/v1alpha1',
    kind: 'TrustStore',
    metadata: { name, ...(extra.finalizers && { finalizers: extra.finalizers }) },
    spec: { trustStoreName: name, type: 'signingAuthority', caBundle: pem },
  });
}

export function trustPolicy(
  name: string,
  options: { trustPolicyName?: string; store: string; identities?: string[]; scopes?: string[]; finalizers?: string[] },
): string {
  return JSON.stringify({
    apiVersion: 'notation.nirmata.io/v1alpha1',
    kind: 'TrustPolicy',
    metadata: { name, ...(options.finalizers && { finalizers: options.finalizers }) },
    spec: {
      version: '1.0',
      trustPolicyName: options.trustPolicyName ?? name,
      trustPolicies: [
        {
          name: 'statement',
          registryScopes: options.scopes ?? ['111122223333.dkr.ecr.us-west-2.amazonaws.com/app'],
          signatureVerification: { level: 'strict' },
          trustStores: [`signingAuthority:${options.store}`],
          trustedIdentities: options.identities ?? ['arn:aws:signer:us-west-2:111122223333:/signing-profiles/app'],
        },
      ],
    },
  });
}

/** The operator's flags for tests: loopback listeners on free ports, short leader-election timings. */
export function testFlags(namespace: string, extra: readonly string[] = []): ReturnType<typeof parseFlags>['flags'] {
  return parseFlags([
    `--namespace=${namespace}`,
    '--metrics-bind-address=127.0.0.1:0',
    '--health-probe-bind-address=127.0.0.1:0',
    '--leader-elect-lease-duration=10s',
    '--leader-elect-renew-deadline=8s',
    '--leader-elect-retry-period=1s',
    '--debounce=50ms',
    '--logLevel=warn',
    ...extra,
  ]).flags;
}

/** An operator in this process; stopped by the caller. */
export function startTestOperator(cp: TestControlPlane, namespace: string, extra: readonly string[] = []): Promise<RunningOperator> {
  return startOperator({
    flags: testFlags(namespace, extra),
    kubeConfig: cp.kubeConfig(),
    log: pino({ level: process.env.KNA_TEST_LOG ?? 'warn' }),
    watch: { backoff: { initialMs: 100, maxMs: 1_000 } },
  });
}

/** Resolves once /readyz answers 200. */
export async function waitReady(operator: RunningOperator, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      const res = await fetch(`${operator.probeUrl ?? ''}/readyz`);
      if (res.status !== 200) throw new Error(`readyz ${res.status}: ${await res.text()}`);
    },
    { timeoutMs },
  );
}

export interface WriteCounter {
  /** resourceVersions of every ADDED/MODIFIED event seen, in order. */
  readonly writes: string[];
  stop(): Promise<void>;
}

/** Counts the writes of one ConfigMap through a real watch. */
export async function countConfigMapWrites(cp: TestControlPlane, namespace: string, name: string): Promise<WriteCounter> {
  const writes: string[] = [];
  const source = new KubeClient(cp.kubeConfig()).listWatchSource<KubeObject>(configMapRef(namespace, name));
  // A raw source (not a ListWatcher): a ListWatcher's re-list would not be a write.
  const stop = new AbortController();
  const listed = await source.list(stop.signal);
  const running = (async () => {
    let rv = listed.resourceVersion;
    while (!stop.signal.aborted) {
      await source
        .watch(
          rv,
          60,
          (event) => {
            rv = event.object.metadata?.resourceVersion ?? rv;
            if (event.type === 'ADDED' || event.type === 'MODIFIED') writes.push(rv);
          },
          stop.signal,
        )
        .catch(() => undefined);
    }
  })();
  return {
    writes,
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

export interface BundleVerifier {
  /** Its plain-HTTP port on 127.0.0.1. */
  readonly port: number;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL if it has not exited 30 s later; resolves once it has. */
  stop(): Promise<void>;
}

/**
 * A verifier process (`pnpm verifier`'s command) serving the bundle a kubelet mirror projects into `bundleDir`,
 * as a pod does, but on plain HTTP without token review, reaching the signing harness through `pluginEnv`.
 */
export async function spawnBundleVerifier(options: {
  readonly bundleDir: string;
  readonly logFile: string;
  readonly pluginEnv: Readonly<Record<string, string>>;
}): Promise<BundleVerifier> {
  const port = await freePort();
  const tools = toolsEnv();
  const out = openSync(options.logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=source',
      'verifier/src/main.ts',
      `--bundleDir=${options.bundleDir}`,
      '--notls',
      `--httpPort=${port}`,
      '--bindAddress=127.0.0.1',
      '--reviewKyvernoToken=false',
      '--health-probe-bind-address=0',
      '--metrics-bind-address=0',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', out, out],
      env: { PATH: tools.PATH, HOME: process.env.HOME, NOTATION_LIBEXEC: tools.NOTATION_LIBEXEC, ...options.pluginEnv },
    },
  );
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    logFile: options.logFile,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
