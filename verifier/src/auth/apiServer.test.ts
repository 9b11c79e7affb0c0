// Where the verifier's TokenReview credentials come from (auth/apiServer.ts), on files in a temporary
// directory: the precedence of --kubeconfig, KUBECONFIG, ~/.kube/config and the pod's ServiceAccount,
// what a kubeconfig user may be, and the refusals at start-up; and a request's time bound. The requests
// themselves go to a real kube-apiserver in apiServer.int.test.ts.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { projectPayload } from '@kna/e2e';
import { ApiServerClient, TokenFile, apiServerCredentials, inClusterCredentials, kubeconfigCredentials } from './apiServer.js';
import { kubernetesTokenReviewer } from './tokenReview.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kna-api-server-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const CA_PEM = '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n';

/** Writes a one-context kubeconfig whose cluster is `server` and whose user is `user`; returns its path. */
function writeKubeconfig(path: string, server: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'other', cluster: { server: 'https://other.example:6443' } },
        { name: 'c', cluster: { server, ...cluster } },
      ],
      users: [{ name: 'u', user }],
      contexts: [
        { name: 'elsewhere', context: { cluster: 'other', user: 'u' } },
        { name: 'here', context: { cluster: 'c', user: 'u' } },
      ],
      'current-context': 'here',
    }),
  );
  return path;
}

/** A ServiceAccount mount as the kubelet writes it (the files are symlinks into a ..data directory). */
async function writeServiceAccount(root: string, token: string): Promise<void> {
  await projectPayload(
    root,
    new Map([
      ['token', Buffer.from(token)],
      ['ca.crt', Buffer.from(CA_PEM)],
    ]),
  );
}

describe('TokenReview credentials from a kubeconfig', () => {
  it('reads the current context: server, CA and client certificate data, insecure-skip-tls-verify, tls-server-name', () => {
    const path = writeKubeconfig(
      join(dir, 'kubeconfig'),
      'https://127.0.0.1:6443/prefix',
      { 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key-data': Buffer.from('KEY').toString('base64') },
      { 'certificate-authority-data': Buffer.from(CA_PEM).toString('base64'), 'tls-server-name': 'kubernetes.default' },
    );
    const credentials = kubeconfigCredentials(path);
    assert.equal(credentials.server.href, 'https://127.0.0.1:6443/prefix');
    assert.equal(credentials.ca?.toString(), CA_PEM);
    assert.equal(credentials.tlsServerName, 'kubernetes.default');
    assert.equal(credentials.insecureSkipTlsVerify, false);
    assert.equal(credentials.clientCertificate?.cert.toString(), 'CERT');
    assert.equal(credentials.clientCertificate.key.toString(), 'KEY');
    assert.equal(credentials.token, undefined);
    assert.match(credentials.source, /kubeconfig .*kubeconfig \(context "here"\)/);

    const insecure = kubeconfigCredentials(
      writeKubeconfig(join(dir, 'insecure'), 'https://127.0.0.1:6443', { token: 't' }, { 'insecure-skip-tls-verify': true }),
    );
    assert.equal(insecure.insecureSkipTlsVerify, true);
  });

  it('reads certificate files relative to the kubeconfig, and a token file', async () => {
    mkdirSync(join(dir, 'conf', 'pki'), { recursive: true });
    writeFileSync(join(dir, 'conf', 'pki', 'ca.crt'), CA_PEM);
    writeFileSync(join(dir, 'conf', 'pki', 'client.crt'), 'CERT FILE');
    writeFileSync(join(dir, 'conf', 'pki', 'client.key'), 'KEY FILE');
    writeFileSync(join(dir, 'conf', 'token'), 'token-from-file\n');
    const path = writeKubeconfig(
      join(dir, 'conf', 'kubeconfig'),
      'https://127.0.0.1:6443',
      { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key', tokenFile: 'token' },
      { 'certificate-authority': 'pki/ca.crt' },
    );
    const credentials = kubeconfigCredentials(path);
    assert.equal(credentials.ca?.toString(), CA_PEM);
    assert.equal(credentials.clientCertificate?.cert.toString(), 'CERT FILE');
    assert.equal(credentials.clientCertificate.key.toString(), 'KEY FILE');
    assert.equal(await credentials.token?.current(), 'token-from-file');
  });

  it('a token in the kubeconfig is used as it is', async () => {
    const credentials = kubeconfigCredentials(writeKubeconfig(join(dir, 'kubeconfig'), 'https://127.0.0.1:6443', { token: 'inline-token' }));
    assert.equal(await credentials.token?.current(), 'inline-token');
  });

  it('refuses a user that runs a command (exec) or names an auth provider, saying what is not supported', () => {
    const exec = writeKubeconfig(join(dir, 'exec'), 'https://127.0.0.1:6443', {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks', 'get-token'] },
    });
    assert.throws(() => kubeconfigCredentials(exec), {
      code: 'VERIFIER_ERR_KUBECONFIG',
      message: new RegExp(
        `cannot use kubeconfig ${exec} \\(context "here"\\) .*user "u" uses exec credentials \\(a command that prints a token\\), which the verifier does not support`,
      ),
    });
    const provider = writeKubeconfig(join(dir, 'provider'), 'https://127.0.0.1:6443', { 'auth-provider': { name: 'oidc', config: {} } });
    assert.throws(() => kubeconfigCredentials(provider), {
      code: 'VERIFIER_ERR_KUBECONFIG',
      message: /uses an auth-provider, which the verifier does not support/,
    });
  });

  it('refuses what it cannot use: a missing file, no current context, a half client certificate, a missing token file', () => {
    assert.throws(() => kubeconfigCredentials(join(dir, 'absent')), { code: 'VERIFIER_ERR_KUBECONFIG', message: /absent .*cannot read it: ENOENT/ });
    const noContext = join(dir, 'no-context');
    writeFileSync(noContext, stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] }));
    assert.throws(() => kubeconfigCredentials(noContext), { code: 'VERIFIER_ERR_KUBECONFIG', message: /no current-context is set/ });
    const half = writeKubeconfig(join(dir, 'half'), 'https://127.0.0.1:6443', { 'client-certificate-data': Buffer.from('CERT').toString('base64') });
    assert.throws(() => kubeconfigCredentials(half), { code: 'VERIFIER_ERR_KUBECONFIG', message: /client certificate or key without the other/ });
    const tokenFile = writeKubeconfig(join(dir, 'token-file'), 'https://127.0.0.1:6443', { tokenFile: 'missing-token' });
    assert.throws(() => kubeconfigCredentials(tokenFile), {
      code: 'VERIFIER_ERR_KUBECONFIG',
      message: /kubeconfig .*token-file \(context "here"\) .*cannot read the token file .*missing-token: ENOENT/,
    });
  });
});

describe('TokenReview credentials in cluster', () => {
  it("uses KUBERNETES_SERVICE_HOST/PORT, the ServiceAccount's ca.crt and its token file", async () => {
    const sa = join(dir, 'serviceaccount');
    await writeServiceAccount(sa, 'pod-token');
    const credentials = inClusterCredentials({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa });
    assert.equal(credentials.server.href, 'https://[fd00::1]/');
    assert.equal(credentials.ca?.toString(), CA_PEM);
    assert.equal(await credentials.token?.current(), 'pod-token');
    assert.equal(credentials.insecureSkipTlsVerify, false);
  });

  it('outside a pod (no KUBERNETES_SERVICE_HOST) says so', async () => {
    const sa = join(dir, 'serviceaccount');
    await writeServiceAccount(sa, 'pod-token');
    assert.throws(() => inClusterCredentials({ env: {}, serviceAccountDir: sa }), {
      code: 'VERIFIER_ERR_KUBECONFIG',
      message: /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/,
    });
  });
});

describe('a token file', () => {
  it('is read again when the kubelet replaces it (the ..data symlink swapped) or it is rewritten in place', async () => {
    const sa = join(dir, 'serviceaccount');
    await writeServiceAccount(sa, 'first');
    const token = new TokenFile(join(sa, 'token'));
    assert.equal(await token.current(), 'first');
    await writeServiceAccount(sa, 'second');
    assert.equal(await token.current(), 'second');

    const plain = join(dir, 'plain-token');
    writeFileSync(plain, 'one');
    const rewritten = new TokenFile(plain);
    assert.equal(await rewritten.current(), 'one');
    writeFileSync(plain, 'two, a longer token');
    assert.equal(await rewritten.current(), 'two, a longer token');
  });

  it('keeps the last token when the file is gone or empty for a moment', async () => {
    const path = join(dir, 'token');
    writeFileSync(path, 'kept');
    const token = new TokenFile(path);
    writeFileSync(path, '');
    assert.equal(await token.current(), 'kept');
    rmSync(path);
    assert.equal(await token.current(), 'kept');
  });
});

describe('which credentials: --kubeconfig, KUBECONFIG, ~/.kube/config, then in cluster', () => {
  async function layout(): Promise<{ flag: string; envFile: string; home: string; sa: string }> {
    const flag = writeKubeconfig(join(dir, 'flag'), 'https://flag.example', { token: 't' });
    const envFile = writeKubeconfig(join(dir, 'env'), 'https://env.example', { token: 't' });
    const home = join(dir, 'home');
    writeKubeconfig(join(home, '.kube', 'config'), 'https://home.example', { token: 't' });
    const sa = join(dir, 'serviceaccount');
    await writeServiceAccount(sa, 'pod-token');
    return { flag, envFile, home, sa };
  }
  const inCluster = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  const serverOf = (options: Parameters<typeof apiServerCredentials>[0]) => apiServerCredentials(options).server.host;

  it('takes the first that is given', async () => {
    const { flag, envFile, home, sa } = await layout();
    const env = { KUBECONFIG: envFile, HOME: home, ...inCluster };
    assert.equal(serverOf({ kubeconfig: flag, local: false, env, serviceAccountDir: sa }), 'flag.example');
    assert.equal(serverOf({ kubeconfig: '', local: false, env, serviceAccountDir: sa }), 'env.example');
    assert.equal(serverOf({ kubeconfig: '', local: false, env: { ...env, KUBECONFIG: '' }, serviceAccountDir: sa }), 'home.example');
    assert.equal(serverOf({ kubeconfig: '', local: false, env: { ...inCluster, HOME: join(dir, 'nobody') }, serviceAccountDir: sa }), '10.96.0.1');
  });

  it('in local mode, a kubeconfig or nothing', async () => {
    const { home, sa } = await layout();
    assert.equal(serverOf({ kubeconfig: '', local: true, env: { HOME: home }, serviceAccountDir: sa }), 'home.example');
    assert.throws(() => apiServerCredentials({ kubeconfig: '', local: true, env: { HOME: join(dir, 'nobody'), ...inCluster }, serviceAccountDir: sa }), {
      code: 'VERIFIER_ERR_BAD_FLAG',
      message: /token review needs a kubeconfig in local mode: set KUBECONFIG or --kubeconfig, or pass --reviewKyvernoToken=false/,
    });
  });

  it('with none of them, says what it looked for', () => {
    assert.throws(() => apiServerCredentials({ kubeconfig: '', local: false, env: { HOME: dir }, serviceAccountDir: join(dir, 'no-serviceaccount') }), {
      code: 'VERIFIER_ERR_BAD_FLAG',
      message: /no --kubeconfig, KUBECONFIG or ~\/\.kube\/config, and no ServiceAccount token in .*no-serviceaccount/,
    });
  });
});

describe('a request to the API server', () => {
  it('an API server that accepts the connection and never answers: the request ends at its time bound', async (t) => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const { port } = silent.address() as { port: number };
    const client = new ApiServerClient({ server: new URL(`https://127.0.0.1:${port}`), source: 'test', insecureSkipTlsVerify: true }, { timeoutMs: 300 });
    t.after(() => client.close());
    await assert.rejects(kubernetesTokenReviewer(client).review('token', []), /no answer within 0\.3 s/);
  });
});
