// Kyverno's admission controller (built by `pnpm tools` from its Go module) running out of cluster
// against a test control plane, the way Kyverno's own development setup runs it: `--kubeconfig` for the
// API server and `--serverIP` so that the webhook configurations it registers point at a URL
// (https://127.0.0.1:<port>/…) instead of a Service. docs/kyverno.md explains every flag and variable.
//
//   const kube = useTestControlPlane();            // Kyverno's webhooks are cluster-wide: its own control plane
//   const kyverno = await startKyverno(kube());    // CRDs, namespace, token, process; ready when its webhooks are registered
//   …
//   await kyverno.stop();                          // the process, then its webhook configurations
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect } from 'node:tls';
import { freePorts, startProcess, ProcessStartError, type RunningProcess } from '../harness/processes.js';
import { toolPath } from '../harness/tools-env.js';
import { kubectl } from '../kube/clients.js';
import type { ControlPlaneState } from '../kube/controlPlane.js';
import { KYVERNO_ERR_NOT_READY } from '../kube/errors.js';

/** The namespace Kyverno's chart installs into; its Secrets, Leases and ConfigMaps live there. */
export const KYVERNO_NAMESPACE = 'kyverno';
/** The admission controller's ServiceAccount in the chart; the user the verifier's TokenReview sees. */
export const KYVERNO_SERVICE_ACCOUNT = 'kyverno-admission-controller';
/** The audience of the scoped apiCall token (the chart's `apiCallToken.audience` default). */
export const KYVERNO_APICALL_AUDIENCE = 'kyverno-svc.kyverno.io';
/** The label Kyverno puts on every webhook configuration it manages. */
export const KYVERNO_WEBHOOK_LABEL = 'webhook.kyverno.io/managed-by=kyverno';

// Kyverno's default --httpBlocklist for apiCall.service and CEL http calls, without its two loopback
// entries: out of cluster the verifier is a loopback URL, which the defaults refuse. Passing the flag
// replaces the defaults, so the cloud metadata endpoints stay blocked.
const HTTP_BLOCKLIST = ['169.254.169.254/32', '169.254.169.253/32', 'fd00:ec2::254/128', 'metadata.google.internal'];

// kubectl --server-side field manager for the CRDs (they exceed client-side apply's annotation limit).
const FIELD_MANAGER = 'kna-e2e-kyverno';

export interface KyvernoOptions {
  /** Until its webhook configurations point at it; 120 s by default (a cold start on 2 busy cores). */
  readonly readyTimeoutMs?: number;
  /**
   * Give Kyverno a scoped apiCall token (TokenRequest for KYVERNO_SERVICE_ACCOUNT, audience
   * KYVERNO_APICALL_AUDIENCE) at `tokenFile`, as the chart's projected volume does; true by default.
   * Without it Kyverno calls services with no Authorization header.
   */
  readonly apiCallToken?: boolean;
  /** Extra Kyverno flags, appended last so they win. */
  readonly extraArgs?: readonly string[];
}

export interface RunningKyverno {
  readonly pid: number;
  /** The webhook server's port on 127.0.0.1 (also the port in every webhook URL). */
  readonly port: number;
  readonly logFile: string;
  /**
   * The scoped apiCall token file Kyverno reads on every service call (KYVERNO_SCOPED_TOKEN_PATH);
   * removing it makes the next calls go without Authorization.
   */
  readonly tokenFile: string;
  /** Stops Kyverno, then deletes the webhook configurations it leaves behind. Safe to call twice. */
  stop(): Promise<void>;
}

/** The directory `pnpm tools` put Kyverno's binary (bin/kyverno) and CRDs (crds/) in. */
export function kyvernoDir(): string {
  return dirname(dirname(toolPath('kyverno')));
}

/** Applies Kyverno's CRDs (server-side) and waits until the API server serves them. Idempotent. */
export async function applyKyvernoCrds(cp: ControlPlaneState): Promise<void> {
  const crds = join(kyvernoDir(), 'crds');
  await kubectl(cp, ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-R', '-f', crds], { timeoutMs: 120_000 });
  await kubectl(cp, ['wait', '--for=condition=Established', '--timeout=120s', '-R', '-f', crds], { timeoutMs: 130_000 });
}

/** What Kyverno expects in its namespace before it starts: the namespace, its two ConfigMaps, its ServiceAccount. */
async function prepareNamespace(cp: ControlPlaneState): Promise<void> {
  // Empty ConfigMaps mean Kyverno's built-in defaults; it fails to start when they are missing.
  const manifest = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: KYVERNO_NAMESPACE } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kyverno', namespace: KYVERNO_NAMESPACE } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kyverno-metrics', namespace: KYVERNO_NAMESPACE } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: KYVERNO_SERVICE_ACCOUNT, namespace: KYVERNO_NAMESPACE } },
  ];
  await kubectl(cp, ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifest }) });
}

/**
 * Writes the scoped apiCall token where Kyverno reads it: what the kubelet does for the chart's
 * projected ServiceAccount token volume, with the longest lifetime the API server grants by default.
 */
export async function writeApiCallToken(cp: ControlPlaneState, file: string): Promise<void> {
  const { stdout } = await kubectl(cp, [
    'create',
    'token',
    KYVERNO_SERVICE_ACCOUNT,
    '-n',
    KYVERNO_NAMESPACE,
    `--audience=${KYVERNO_APICALL_AUDIENCE}`,
    '--duration=1h',
  ]);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, stdout.trim(), { mode: 0o600 });
}

/** Deletes every webhook configuration Kyverno registered (they outlive it, with failurePolicy Fail). */
export async function deleteKyvernoWebhooks(cp: ControlPlaneState): Promise<void> {
  await kubectl(cp, [
    'delete',
    'validatingwebhookconfigurations,mutatingwebhookconfigurations',
    '-l',
    KYVERNO_WEBHOOK_LABEL,
    '--ignore-not-found',
    '--wait=false',
  ]);
}

/**
 * Whether the webhook listener completes a TLS handshake: Kyverno registers its webhooks before its
 * certificate controller has loaded the serving pair, and until then it answers every handshake with
 * "tls: internal error" (the API server then fails the request it was asked to check).
 */
function handshakes(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    // Only whether a certificate is served is checked here; the API server verifies it against the webhook's caBundle.
    const socket = connect({ host: '127.0.0.1', port, servername: '127.0.0.1', rejectUnauthorized: false, timeout: 2_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('secureConnect', () => done(Object.keys(socket.getPeerCertificate()).length > 0));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** The URL of the named webhook configuration's first webhook, or '' while it does not exist. */
async function webhookUrl(cp: ControlPlaneState, kind: 'validating' | 'mutating', name: string): Promise<string> {
  const res = await kubectl(cp, ['get', `${kind}webhookconfiguration`, name, '-o', 'jsonpath={.webhooks[0].clientConfig.url}', '--ignore-not-found'], {
    allowFailure: true,
    timeoutMs: 10_000,
  });
  return res.status === 0 ? res.stdout.trim() : '';
}

/**
 * Starts Kyverno's admission controller against the control plane, on loopback only, and resolves once
 * the API server would call it: its policy webhook configurations point at its port and it completes TLS
 * handshakes there. (The resource
 * webhook configurations exist too, but hold webhooks only once a policy needs them.)
 * Kyverno's webhooks apply to the whole cluster, so give it a control plane of its own.
 */
export async function startKyverno(cp: ControlPlaneState, options: KyvernoOptions = {}): Promise<RunningKyverno> {
  const binary = toolPath('kyverno');
  const dir = join(cp.dir, 'kyverno');
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'kyverno.log');
  const tokenFile = join(dir, 'apicall', 'token');

  await applyKyvernoCrds(cp);
  await prepareNamespace(cp);
  if (options.apiCallToken ?? true) await writeApiCallToken(cp, tokenFile);

  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  let running: (RunningProcess & { port: number }) | undefined;
  let last: unknown;
  // Two ports (webhooks, metrics) from one freePorts call; a lost race shows as "address already in use".
  for (let attempt = 0; attempt < 3 && !running; attempt++) {
    const [port = 0, metricsPort = 0] = await freePorts(2);
    try {
      const started = await startProcess({
        name: 'kyverno',
        command: binary,
        args: [
          `--kubeconfig=${cp.kubeconfig}`,
          // Out-of-cluster mode: webhooks registered with url https://<serverIP>/…, and a serving
          // certificate with <serverIP>'s host as an IP SAN. serverIP must carry the port.
          `--serverIP=127.0.0.1:${port}`,
          // Every listener on loopback: webhooks, Prometheus metrics; controller-runtime metrics off.
          '--webhookServerHost=127.0.0.1',
          `--webhookServerPort=${port}`,
          '--metricsHost=127.0.0.1',
          `--metricsPort=${metricsPort}`,
          '--controllerRuntimeMetricsAddress=0',
          // The Secrets its certificate controller creates (the chart's names).
          '--caSecretName=kyverno-svc.kyverno.svc.kyverno-tls-ca',
          '--tlsSecretName=kyverno-svc.kyverno.svc.kyverno-tls-pair',
          // The other controllers of the chart do not run here; Kyverno only needs their names.
          '--backgroundServiceAccountName=system:serviceaccount:kyverno:kyverno-background-controller',
          '--reportsServiceAccountName=system:serviceaccount:kyverno:kyverno-reports-controller',
          // No reports controller consumes them.
          '--admissionReports=false',
          `--httpBlocklist=${HTTP_BLOCKLIST.join(',')}`,
          '--v=2',
          ...(options.extraArgs ?? []),
        ],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          KYVERNO_NAMESPACE,
          KYVERNO_SERVICEACCOUNT_NAME: KYVERNO_SERVICE_ACCOUNT,
          KYVERNO_ROLE_NAME: 'kyverno:admission-controller',
          KYVERNO_DEPLOYMENT: 'kyverno-admission-controller',
          KYVERNO_SVC: 'kyverno-svc',
          // Its leader-election identity; a restart with the same name takes the Lease at once.
          KYVERNO_POD_NAME: 'kyverno-admission-controller-local',
          INIT_CONFIG: 'kyverno',
          METRICS_CONFIG: 'kyverno-metrics',
          KYVERNO_SCOPED_TOKEN_PATH: tokenFile,
        },
        logFile,
        readyTimeoutMs,
        ready: async () => {
          const [validating, mutating] = await Promise.all([
            webhookUrl(cp, 'validating', 'kyverno-policy-validating-webhook-cfg'),
            webhookUrl(cp, 'mutating', 'kyverno-policy-mutating-webhook-cfg'),
          ]);
          const own = `https://127.0.0.1:${port}/`;
          return validating.startsWith(own) && mutating.startsWith(own) && (await handshakes(port));
        },
      });
      running = { ...started, port };
    } catch (err) {
      last = err;
      if (!(err instanceof ProcessStartError) || !/address already in use/i.test(err.logTail)) break;
    }
  }
  if (!running) {
    await deleteKyvernoWebhooks(cp).catch(() => undefined);
    const why = last instanceof Error ? last.message : String(last);
    throw new KYVERNO_ERR_NOT_READY(why, { cause: last });
  }

  const kyverno = running;
  let stopped: Promise<void> | undefined;
  return {
    pid: kyverno.pid,
    port: kyverno.port,
    logFile,
    tokenFile,
    stop: () => {
      stopped ??= (async () => {
        // SIGTERM lets it release its Lease; it does not remove its webhooks, and deleting them while it
        // runs only makes it recreate them, so they go afterwards.
        await kyverno.stop();
        if (existsSync(cp.kubeconfig)) await deleteKyvernoWebhooks(cp);
        rmSync(join(dir, 'apicall'), { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
