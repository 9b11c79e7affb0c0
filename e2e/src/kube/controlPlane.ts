// A throwaway single-node Kubernetes control plane for tests: etcd + kube-apiserver on free loopback
// ports, with their own PKI, data directory and logs under one directory, and no kubelet, controller
// manager or scheduler (README "Test components"). Several can
// run side by side. Tests use testing.ts; developers use `pnpm -s harness kube up`.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import {
  ProcessStartError,
  answers,
  freePorts,
  startOnFreePort,
  startProcess,
  stopGroup,
  type ProcessSpec,
  type RunningProcess,
} from '../harness/processes.js';
import { toolPath } from '../harness/tools-env.js';
import { KUBE_ERR_DIR_IN_USE, KUBE_ERR_DIR_NOT_EMPTY, KUBE_ERR_NOT_READY, KUBE_ERR_NO_STATE } from './errors.js';
import { createClusterCa, createServiceAccountKey, loadClusterCa, type ClientCertOptions, type KeyPairPem } from './pki.js';

/** The issuer kubeadm clusters use; also the default API audience (what a token without one is for). */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** The admin user of every test control plane (kubeconfig `KUBECONFIG`), in system:masters. */
export const ADMIN_USER = { user: 'kna-e2e-admin', groups: ['system:masters'] } as const satisfies ClientCertOptions;

const STATE_FILE = 'state.json';

// Everything a control plane stores is thrown away with its directory, so there is nothing to shut
// down gracefully: SIGTERM only makes kube-apiserver drain for about a second. The API server is
// stopped first so that it does not log etcd connection errors in between.
const KILL_GRACE_MS = 0;

export interface ControlPlaneOptions {
  /**
   * Directory for PKI, etcd data, logs and kubeconfigs: absent or empty, since it is removed on stop.
   * A fresh temporary one by default.
   */
  readonly dir?: string;
  /** --service-account-issuer; DEFAULT_ISSUER by default. */
  readonly issuer?: string;
  /**
   * --api-audiences: the audiences a TokenRequest without audiences gets, and the ones a TokenReview
   * without spec.audiences checks against. Default: [issuer], as kubeadm does, so a token requested
   * for another audience (Kyverno's scoped `kyverno-svc.kyverno.io`) only passes a TokenReview that
   * names that audience (README "Test components").
   */
  readonly apiAudiences?: readonly string[];
  /** Per component (etcd, kube-apiserver); 180 s by default: a bound for a cold page cache on 2 cores at load 30, not an expected time. */
  readonly readyTimeoutMs?: number;
  /** Keep the processes running after this process exits (`harness kube up`). */
  readonly outliveParent?: boolean;
  /** Extra kube-apiserver flags (`--feature-gates=…`), appended last so they win. */
  readonly extraApiServerArgs?: readonly string[];
}

/** What a client needs to know about a running control plane; persisted as `<dir>/state.json`. */
export interface ControlPlaneState {
  readonly dir: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Admin kubeconfig (client certificate of ADMIN_USER). */
  readonly kubeconfig: string;
  /** PEM file of the CA that signed the serving certificate and authenticates client certificates. */
  readonly caFile: string;
  readonly issuer: string;
  readonly apiAudiences: readonly string[];
  /** http://127.0.0.1:<port> */
  readonly etcdUrl: string;
  /**
   * Environment for kubectl and helm: KUBECONFIG plus their cache and config directories inside `dir`,
   * so nothing is written to the user's home and stopping leaves no file behind.
   */
  readonly env: Readonly<Record<string, string>>;
  /** Process-group leaders, kube-apiserver first (stopped in this order). */
  readonly pids: readonly number[];
}

/** Milliseconds spent in each phase of a start. */
export interface StartTimings {
  readonly pkiMs: number;
  readonly etcdMs: number;
  readonly apiServerMs: number;
  readonly totalMs: number;
}

export interface ControlPlane extends ControlPlaneState {
  readonly timings: StartTimings;
  /** Stops every process and removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Kills kube-apiserver (etcd and its data stay), as an outage clients must survive; `startApiServer` brings it
   * back on the same port with the same flags, so clients reconnect to the same URL.
   */
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
}

export interface KubeconfigOptions {
  readonly server: string;
  readonly caPem: string;
  readonly name?: string;
  readonly credentials: KeyPairPem | { readonly token: string };
}

/** A single-context kubeconfig (YAML), with everything inline so the file can be copied anywhere. */
export function kubeconfigYaml(options: KubeconfigOptions): string {
  const name = options.name ?? 'kna-e2e';
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const user =
    'token' in options.credentials
      ? { token: options.credentials.token }
      : { 'client-certificate-data': b64(options.credentials.certPem), 'client-key-data': b64(options.credentials.keyPem) };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: options.server, 'certificate-authority-data': b64(options.caPem) } }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

/** Kills a process group at once and resolves when its leader has fully exited (its ports are free). */
async function kill(pid: number): Promise<void> {
  await stopGroup(pid, KILL_GRACE_MS);
}

function writeSecret(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
}

/** GET over TLS trusting `ca`; resolves the status (0 when nothing answers). */
function httpsStatus(url: string, ca: string): Promise<number> {
  return new Promise((done) => {
    // No keep-alive agent: a probe must not leave connections to the API server open.
    const req = request(url, { ca, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
    req.end();
  });
}

function stateOf(dir: string): ControlPlaneState {
  let text: string;
  try {
    text = readFileSync(join(dir, STATE_FILE), 'utf8');
  } catch (err) {
    throw new KUBE_ERR_NO_STATE(dir, { cause: err });
  }
  return JSON.parse(text) as ControlPlaneState;
}

/** The state of a control plane started elsewhere (`harness kube up`) from its directory. */
export function readControlPlaneState(dir: string): ControlPlaneState {
  return stateOf(resolve(dir));
}

/** Stops the control plane recorded in `dir` (any process, e.g. one started by `harness kube up`) and removes `dir`. */
export async function stopControlPlane(dir: string): Promise<void> {
  const state = stateOf(resolve(dir));
  for (const pid of state.pids) await kill(pid);
  rmSync(state.dir, { recursive: true, force: true });
}

/**
 * Writes a kubeconfig into the control plane's directory that authenticates as `user` (in `groups`)
 * with a client certificate from the control plane's CA, for RBAC tests; returns its path.
 */
export async function writeUserKubeconfig(state: ControlPlaneState, user: ClientCertOptions): Promise<string> {
  const pkiDir = join(state.dir, 'pki');
  const ca = await loadClusterCa({ certPem: readFileSync(state.caFile, 'utf8'), keyPem: readFileSync(join(pkiDir, 'ca.key'), 'utf8') });
  const file = join(state.dir, `kubeconfig-${user.user.replace(/[^\w.-]/g, '_')}`);
  writeSecret(file, kubeconfigYaml({ server: state.server, caPem: ca.certPem, credentials: await ca.issueClient(user) }));
  return file;
}

function notReady(component: string, err: unknown): Error {
  return new KUBE_ERR_NOT_READY(component, err instanceof Error ? err.message : String(err), { cause: err });
}

async function startEtcd(etcd: string, dir: string, options: ControlPlaneOptions): Promise<RunningProcess & { url: string }> {
  const logFile = join(dir, 'etcd.log');
  // etcd needs two ports (client and peer) and startOnFreePort hands out one, so the port race is
  // retried here in the same way: a lost race shows as "address already in use" in the log.
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [clientPort = 0, peerPort = 0] = await freePorts(2);
    const url = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    try {
      const running = await startProcess({
        name: 'etcd',
        command: etcd,
        args: [
          '--name=kna-e2e',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${url}`,
          `--advertise-client-urls=${url}`,
          `--listen-peer-urls=${peer}`,
          `--initial-advertise-peer-urls=${peer}`,
          `--initial-cluster=kna-e2e=${peer}`,
          // Throwaway data: fsync only costs time (envtest does the same).
          '--unsafe-no-fsync=true',
          // A single member elects itself after a random 1-11 ticks of 100 ms by default (etcd
          // fast-forwards 9 of its 10 election ticks when it starts alone); 10 ms ticks make that
          // 10-100 ms. With no peers there is no heartbeat to miss, so the short timeout is safe.
          '--heartbeat-interval=10',
          '--election-timeout=100',
          '--log-level=warn',
        ],
        logFile,
        readyTimeoutMs: options.readyTimeoutMs ?? 180_000,
        ready: () => answers(`${url}/health`),
        ...(options.outliveParent !== undefined && { outliveParent: options.outliveParent }),
      });
      return { ...running, url };
    } catch (err) {
      last = err;
      if (!(err instanceof ProcessStartError) || !/address already in use/i.test(err.logTail)) throw notReady('etcd', err);
      // The failed member may have bootstrapped its data directory with the lost peer URL.
      rmSync(join(dir, 'etcd'), { recursive: true, force: true });
    }
  }
  throw notReady('etcd', last);
}

interface WrittenPki {
  readonly caPem: string;
  readonly caFile: string;
  readonly admin: KeyPairPem;
}

async function writePki(pkiDir: string): Promise<WrittenPki> {
  const ca = await createClusterCa();
  const [serving, admin, saKey] = await Promise.all([
    // IP 10.0.0.1 and the kubernetes.default names are what in-cluster clients would dial; harmless here
    // and they keep the certificate valid for tests that address the API server the in-cluster way.
    ca.issueServing({
      ips: ['127.0.0.1', '10.0.0.1'],
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    }),
    ca.issueClient(ADMIN_USER),
    createServiceAccountKey(),
  ]);
  const caFile = join(pkiDir, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  writeSecret(join(pkiDir, 'ca.key'), ca.keyPem);
  writeFileSync(join(pkiDir, 'apiserver.crt'), serving.certPem);
  writeSecret(join(pkiDir, 'apiserver.key'), serving.keyPem);
  writeSecret(join(pkiDir, 'sa.key'), saKey.privateKeyPem);
  writeFileSync(join(pkiDir, 'sa.pub'), saKey.publicKeyPem);
  return { caPem: ca.certPem, caFile, admin };
}

/**
 * Starts etcd and kube-apiserver and resolves once `/readyz` answers 200 (every post-start hook done:
 * RBAC bootstrap roles, CRD informers, priority-and-fairness config). Stop it with `stop()`; processes
 * not started with `outliveParent` are also killed when this process exits (processes.ts exit hook).
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = performance.now();
  // Before anything is created, so that a missing build leaves nothing behind.
  const etcdPath = toolPath('etcd');
  const apiServerPath = toolPath('kube-apiserver');
  if (options.dir !== undefined && existsSync(options.dir)) {
    // The directory is removed on stop, so it must hold nothing of anyone else's (think `--dir .`).
    if (existsSync(join(options.dir, STATE_FILE))) throw new KUBE_ERR_DIR_IN_USE(resolve(options.dir));
    if (readdirSync(options.dir).length > 0) throw new KUBE_ERR_DIR_NOT_EMPTY(resolve(options.dir));
  }
  const dir = resolve(options.dir ?? mkdtempSync(join(tmpdir(), 'kna-kube-')));
  const pkiDir = join(dir, 'pki');
  mkdirSync(pkiDir, { recursive: true });
  const issuer = options.issuer ?? DEFAULT_ISSUER;
  const apiAudiences = options.apiAudiences ?? [issuer];

  const running: RunningProcess[] = [];
  const stopAll = async () => {
    // Reverse start order: kube-apiserver, then etcd.
    for (const p of running.toReversed()) await kill(p.pid);
  };
  try {
    const { caPem, caFile, admin } = await writePki(pkiDir);
    const pkiDone = performance.now();

    const etcd = await startEtcd(etcdPath, dir, options);
    running.push(etcd);
    const etcdDone = performance.now();

    const apiLog = join(dir, 'kube-apiserver.log');
    const apiSpec = (port: number): ProcessSpec => ({
      name: 'kube-apiserver',
      command: apiServerPath,
      args: [
        `--etcd-servers=${etcd.url}`,
        '--bind-address=127.0.0.1',
        // Hosts without a default route fail to pick an advertise address on their own (§1.7).
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        // Unused with explicit serving files, but keeps it from ever writing to /var/run/kubernetes.
        `--cert-dir=${pkiDir}`,
        `--tls-cert-file=${join(pkiDir, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(pkiDir, 'apiserver.key')}`,
        `--client-ca-file=${caFile}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=${issuer}`,
        `--api-audiences=${apiAudiences.join(',')}`,
        `--service-account-key-file=${join(pkiDir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(pkiDir, 'sa.key')}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        // The loopback address is not a valid endpoint of the `kubernetes` Service; nothing needs it.
        '--endpoint-reconciler-type=none',
        // Without a controller manager nothing creates the `default` ServiceAccount, so the admission
        // plugin that requires it would reject every Pod (envtest does the same).
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
        ...(options.extraApiServerArgs ?? []),
      ],
      logFile: apiLog,
      readyTimeoutMs: options.readyTimeoutMs ?? 180_000,
      // Anonymous requests may read /readyz (system:public-info-viewer), so no client certificate is needed.
      ready: async () => (await httpsStatus(`https://127.0.0.1:${port}/readyz`, caPem)) === 200,
      ...(options.outliveParent !== undefined && { outliveParent: options.outliveParent }),
    });
    const api = await startOnFreePort(apiSpec).catch((err: unknown) => {
      throw notReady('kube-apiserver', err);
    });
    running.push(api);
    const apiDone = performance.now();

    const server = `https://127.0.0.1:${api.port}`;
    const kubeconfig = join(dir, 'kubeconfig');
    writeSecret(kubeconfig, kubeconfigYaml({ server, caPem, credentials: admin }));
    const state: ControlPlaneState = {
      dir,
      server,
      kubeconfig,
      caFile,
      issuer,
      apiAudiences,
      etcdUrl: etcd.url,
      env: {
        KUBECONFIG: kubeconfig,
        // kubectl caches discovery per server under ~/.kube/cache, helm its repositories and plugins
        // under ~/.cache, ~/.config and ~/.local/share: keep all of it in the directory that stop removes.
        KUBECACHEDIR: join(dir, 'kube-cache'),
        HELM_CACHE_HOME: join(dir, 'helm', 'cache'),
        HELM_CONFIG_HOME: join(dir, 'helm', 'config'),
        HELM_DATA_HOME: join(dir, 'helm', 'data'),
      },
      pids: [api.pid, etcd.pid],
    };
    writeFileSync(join(dir, STATE_FILE), JSON.stringify(state, null, 2));
    let stopped: Promise<void> | undefined;
    // The running kube-apiserver (replaced by startApiServer); etcd stays the last entry of `running`.
    let apiProcess: RunningProcess | undefined = api;
    return {
      ...state,
      timings: {
        pkiMs: Math.round(pkiDone - started),
        etcdMs: Math.round(etcdDone - pkiDone),
        apiServerMs: Math.round(apiDone - etcdDone),
        totalMs: Math.round(apiDone - started),
      },
      stop: () => {
        stopped ??= stopAll().then(() => rmSync(dir, { recursive: true, force: true }));
        return stopped;
      },
      stopApiServer: async () => {
        if (!apiProcess) return;
        const stopping = apiProcess;
        apiProcess = undefined;
        running.splice(running.indexOf(stopping), 1);
        await kill(stopping.pid);
      },
      startApiServer: async () => {
        if (apiProcess) return;
        const restarted = await startProcess(apiSpec(api.port)).catch((err: unknown) => {
          throw notReady('kube-apiserver', err);
        });
        apiProcess = restarted;
        running.unshift(restarted);
        // `harness kube down` stops what state.json lists.
        writeFileSync(join(dir, STATE_FILE), JSON.stringify({ ...state, pids: [restarted.pid, etcd.pid] }, null, 2));
      },
    };
  } catch (err) {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
