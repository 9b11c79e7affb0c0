// Runs the original Go service (nirmata/kyverno-notation-aws v1.1, built by `pnpm tools original`)
// against a test control plane the way a cluster runs it: its CRDs and configs/install.yaml applied,
// the container's arguments and environment taken from that Deployment, a ServiceAccount token and the
// API server's CA where client-go's in-cluster configuration reads them, and its plugin ConfigMap
// holding the harness's plugin configuration. It must run inside the isolated run (isolate.ts): it
// binds fixed ports and gets its /run from a private mount namespace. docs/compatibility.md has the
// recipe by hand.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { TestControlPlane } from '../kube/testing.js';
import { eventually } from '../kube/testing.js';
import { answers, signalGroup, startProcess, type RunningProcess } from '../harness/processes.js';
import { pluginConfigMapManifest } from '../harness/manifests.js';
import { MissingToolError, REPO_ROOT, toolPath, toolsEnv } from '../harness/tools-env.js';
import { isIsolated } from './isolate.js';

/** The namespace, ServiceAccount and Deployment configs/install.yaml creates. */
export const ORIGINAL_NAMESPACE = 'kyverno-notation-aws';
const ORIGINAL_NAME = 'kyverno-notation-aws';
/** What `pnpm tools original` installs on PATH. */
export const ORIGINAL_BINARY = 'kyverno-notation-aws';
/** Its hard-coded listeners (plain HTTP, HTTPS) and the default probe address. */
export const ORIGINAL_HTTP_URL = 'http://127.0.0.1:9080';
export const ORIGINAL_HTTPS_URL = 'https://127.0.0.1:9443';
const ORIGINAL_PROBES_URL = 'http://127.0.0.1:8081';

/** The source the original is built from: KNA_ORIGINAL_SRC, else the third-party folder beside the repository. */
export function originalSource(): string {
  return resolve(process.env.KNA_ORIGINAL_SRC ?? join(REPO_ROOT, '..', 'shared', 'third_party', 'kyverno-notation-aws-v1.1'));
}

export class OriginalUnavailableError extends Error {
  readonly code = 'HARNESS_ERR_ORIGINAL_UNAVAILABLE';
}

/** The built binary, or an error that says how to get it. */
export function originalBinary(): string {
  try {
    return toolPath(ORIGINAL_BINARY);
  } catch (err) {
    if (!(err instanceof MissingToolError)) throw err;
    const src = originalSource();
    throw new OriginalUnavailableError(
      existsSync(join(src, 'go.mod'))
        ? `the original service is not built: run 'pnpm tools original' (builds ${src}; about 12 minutes cold)`
        : `the original service is not built and its source is absent (${src}): set KNA_ORIGINAL_SRC to a checkout of github.com/nirmata/kyverno-notation-aws at v1.1, then run 'pnpm tools original'`,
    );
  }
}

interface ContainerSpec {
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }[];
}

/** The container of the Deployment in configs/install.yaml: its arguments and environment. */
export function installedContainer(source = originalSource()): { args: string[]; env: { name: string; value?: string; fieldPath?: string }[] } {
  const docs = parseAllDocuments(readFileSync(join(source, 'configs', 'install.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, unknown> | null);
  const deployment = docs.find((d) => d?.kind === 'Deployment') as { spec: { template: { spec: { containers: ContainerSpec[] } } } } | undefined;
  const container = deployment?.spec.template.spec.containers[0];
  if (!container) throw new Error(`no Deployment container in ${source}/configs/install.yaml`);
  return {
    args: container.args ?? [],
    env: (container.env ?? []).map((e) => ({
      name: e.name,
      ...(e.value !== undefined && { value: e.value }),
      ...(e.valueFrom?.fieldRef?.fieldPath !== undefined && { fieldPath: e.valueFrom.fieldRef.fieldPath }),
    })),
  };
}

/**
 * Applies the original's CRDs (waiting until they are served) and configs/install.yaml (namespace,
 * ServiceAccount, RBAC including system:auth-delegator, Deployment, Service, plugin ConfigMap), then
 * replaces the plugin ConfigMap's data with `pluginConfig`. The Deployment gets no pod (the control
 * plane has no controller manager); startOriginal plays that pod.
 */
export async function installOriginal(cp: TestControlPlane, pluginConfig: Readonly<Record<string, string>>, source = originalSource()): Promise<void> {
  await cp.kubectl(['apply', '-f', join(source, 'configs', 'crds')]);
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/trustpolicies.notation.nirmata.io', 'crd/truststores.notation.nirmata.io']);
  await cp.kubectl(['apply', '-f', join(source, 'configs', 'install.yaml')]);
  await cp.kubectl(['-n', ORIGINAL_NAMESPACE, 'apply', '-f', '-'], { input: pluginConfigMapManifest(pluginConfig) });
}

export interface OriginalOptions {
  readonly cp: TestControlPlane;
  /** Scratch directory (log, NOTATION_DIR, the ServiceAccount files); removed by stop(). */
  readonly dir: string;
  /** Environment for the AWS Signer plugin and registry TLS: AWS credentials, proxy, SSL_CERT_FILE. */
  readonly env: Readonly<Record<string, string>>;
  /** Replaces install.yaml's DEFAULT_TRUST_POLICY (which names no sample policy); undefined keeps it. */
  readonly defaultTrustPolicy?: string;
  /** Appended to install.yaml's container arguments (Go flags: the last one wins). */
  readonly extraArgs?: readonly string[];
  /** ServiceAccount token lifetime; long enough for a benchmark (default 2 h). */
  readonly tokenSeconds?: number;
}

export interface RunningOriginal {
  readonly pid: number;
  readonly logFile: string;
  /** http://127.0.0.1:9080 (the same handler as HTTPS :9443). */
  readonly url: string;
  readonly args: readonly string[];
  /**
   * Its NOTATION_DIR: the original copies the plugins of PLUGINS_DIR into `<notationDir>/plugins/` when it
   * starts, and runs that copy.
   */
  readonly notationDir: string;
  /** Stops it (SIGKILL: it does not stop on SIGTERM) with its plugin processes, and removes `dir`. */
  stop(): Promise<void>;
}

// client-go's in-cluster configuration reads /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}
// (and the namespace file). A tmpfs over /run in a private mount namespace supplies them without
// touching the host; /var/run is /run on current distributions (resolved, in case it is not).
const IN_CLUSTER_SCRIPT = `set -e
run=$(readlink -f /var/run)
mount -t tmpfs -o mode=0755 kna-original "$run"
sa="$run/secrets/kubernetes.io/serviceaccount"
mkdir -p "$sa"
cp "$1/token" "$1/ca.crt" "$1/namespace" "$sa/"
shift
exec "$@"`;

export async function startOriginal(options: OriginalOptions): Promise<RunningOriginal> {
  if (!isIsolated()) throw new Error('startOriginal must run inside an isolated run (e2e/src/original/isolate.ts): it binds fixed ports and mounts over /run');
  const binary = originalBinary();
  const { cp, dir } = options;
  const secrets = join(dir, 'serviceaccount');
  const notationDir = join(dir, 'notation');
  const home = join(dir, 'home');
  for (const d of [secrets, notationDir, home]) mkdirSync(d, { recursive: true });
  const token = await cp.kubectl(['-n', ORIGINAL_NAMESPACE, 'create', 'token', ORIGINAL_NAME, `--duration=${options.tokenSeconds ?? 7200}s`]);
  writeFileSync(join(secrets, 'token'), token.stdout.trim(), { mode: 0o600 });
  writeFileSync(join(secrets, 'ca.crt'), readFileSync(cp.caFile));
  writeFileSync(join(secrets, 'namespace'), ORIGINAL_NAMESPACE);

  const container = installedContainer();
  const podName = `${ORIGINAL_NAME}-compat-0`;
  const fields: Record<string, string> = { 'metadata.namespace': ORIGINAL_NAMESPACE, 'metadata.name': podName };
  const env: Record<string, string> = {
    PATH: '/usr/bin:/bin',
    HOME: home,
    ...Object.fromEntries(container.env.map((e) => [e.name, e.value ?? fields[e.fieldPath ?? ''] ?? ''])),
    NOTATION_DIR: notationDir,
    // The image's PLUGINS_DIR: the folder holding com.amazonaws.signer.notation.plugin/, copied at start.
    PLUGINS_DIR: join(toolsEnv().NOTATION_LIBEXEC, 'plugins'),
    KUBERNETES_SERVICE_HOST: new URL(cp.server).hostname,
    KUBERNETES_SERVICE_PORT: new URL(cp.server).port,
    ...options.env,
    ...(options.defaultTrustPolicy !== undefined && { DEFAULT_TRUST_POLICY: options.defaultTrustPolicy }),
  };
  const args = [...container.args, ...(options.extraArgs ?? [])];
  const logFile = join(dir, 'original.log');
  let proc: RunningProcess;
  try {
    proc = await startProcess({
      name: 'kyverno-notation-aws (original)',
      command: 'unshare',
      args: ['--mount', '--propagation', 'private', '--', 'sh', '-c', IN_CLUSTER_SCRIPT, 'sh', secrets, binary, ...args],
      env,
      cwd: dir,
      logFile,
      // The probes come up with the controller manager; 9080 with the verification handler.
      ready: async () => (await answers(`${ORIGINAL_PROBES_URL}/readyz`)) && (await answers(`${ORIGINAL_HTTP_URL}/checkimages`)),
      readyTimeoutMs: 120_000,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    pid: proc.pid,
    logFile,
    url: ORIGINAL_HTTP_URL,
    args,
    notationDir,
    stop: async () => {
      signalGroup(proc.pid, 'SIGKILL');
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until the original has loaded these trust policies: it rebuilds its verifiers a moment after
 * each CR change, and answers "no trust policy found" until then. The probe asks about an image that
 * `imageReferences` leaves out, which is 200 once the policy exists and verifies nothing.
 */
export async function waitForTrustPolicies(
  url: string,
  names: readonly string[],
  headers: Readonly<Record<string, string>>,
  timeoutMs = 60_000,
): Promise<void> {
  for (const name of names) {
    await eventually(
      async () => {
        const res = await fetch(`${url}/checkimages`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            images: { containers: { probe: { registry: 'probe.invalid', path: 'probe', name: 'probe', tag: 'v1', jsonPointer: '/spec/containers/0/image' } } },
            imageReferences: ['nothing-matches-this'],
            trustPolicy: name,
          }),
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`the original has not loaded trust policy ${name}: ${res.status} ${text.trim()}`);
      },
      { timeoutMs, intervalMs: 250 },
    );
  }
}
