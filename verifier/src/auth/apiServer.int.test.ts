// The verifier's TokenReview requests (auth/apiServer.ts) against a real kube-apiserver, with each kind
// of credential it accepts: a client certificate (inline and as files), a token file, and a pod's
// ServiceAccount (KUBERNETES_SERVICE_HOST/PORT, ca.crt and a token the kubelet replaces: the next review
// presents the new one). Where the credentials come from is unit-tested in apiServer.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { bindClusterRole, createServiceAccount, eventually, projectPayload, serviceAccountToken, useTestControlPlane } from '@kna/e2e';
import { ApiServerClient, ApiServerStatusError, inClusterCredentials, kubeconfigCredentials, type ApiServerCredentials } from './apiServer.js';
import { kubernetesTokenReviewer, type ReviewResult } from './tokenReview.js';

const kube = useTestControlPlane({ shared: true });
const AUDIENCE = 'kyverno-svc.kyverno.io';

let dir: string;
let namespace: string;
/** A token of the ServiceAccount `caller`, to be reviewed, and the name TokenReview gives it. */
let callerToken: string;
let caller: string;
/** Tokens of the ServiceAccount `reviewer` (bound to system:auth-delegator) and `unbound` (not). */
let reviewerToken: string;
let unboundToken: string;

function adminCredentials(): ApiServerCredentials {
  return kubeconfigCredentials(kube().kubeconfig);
}

/** Reviews the caller's token with a client made from `credentials`. */
async function review(credentials: ApiServerCredentials): Promise<ReviewResult> {
  const client = new ApiServerClient(credentials);
  try {
    return await kubernetesTokenReviewer(client).review(callerToken, [AUDIENCE]);
  } finally {
    client.close();
  }
}

/** The admin kubeconfig's current user and cluster, as parsed YAML. */
function adminKubeconfig(): { user: Record<string, string>; server: string; caData: string } {
  const config = parse(readFileSync(kube().kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: Record<string, string> }[];
  };
  const [cluster] = config.clusters;
  const [user] = config.users;
  assert.ok(cluster && user, 'the admin kubeconfig has a cluster and a user');
  return { user: user.user, server: cluster.cluster.server, caData: cluster.cluster['certificate-authority-data'] };
}

function writeKubeconfig(path: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  return path;
}

describe('TokenReview through the verifier’s API server client, on a real kube-apiserver', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kna-api-server-int-'));
    namespace = await kube().createNamespace('api-server');
    for (const sa of ['caller', 'reviewer', 'unbound']) await createServiceAccount(kube(), namespace, sa);
    callerToken = await serviceAccountToken(kube(), namespace, 'caller', [AUDIENCE]);
    caller = `system:serviceaccount:${namespace}:caller`;
    reviewerToken = await serviceAccountToken(kube(), namespace, 'reviewer');
    unboundToken = await serviceAccountToken(kube(), namespace, 'unbound');
    await bindClusterRole(kube(), namespace, 'reviewer', 'system:auth-delegator');
    // The RBAC authorizer sees the new binding through its informer, a moment after the write.
    await eventually(() => review({ ...adminCredentials(), token: { current: () => Promise.resolve(reviewerToken) } }), { timeoutMs: 60_000 });
  });

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await kube().deleteNamespace(namespace);
  });

  it('with a client certificate inline (the control plane’s admin kubeconfig)', async () => {
    assert.deepEqual(await review(adminCredentials()), { authenticated: true, username: caller });
  });

  it('with the client certificate, key and CA as files beside the kubeconfig', async () => {
    const { user, server, caData } = adminKubeconfig();
    const conf = join(dir, 'files');
    mkdirSync(join(conf, 'pki'), { recursive: true });
    writeFileSync(join(conf, 'pki', 'ca.crt'), Buffer.from(caData, 'base64'));
    writeFileSync(join(conf, 'pki', 'admin.crt'), Buffer.from(user['client-certificate-data'] ?? '', 'base64'));
    writeFileSync(join(conf, 'pki', 'admin.key'), Buffer.from(user['client-key-data'] ?? '', 'base64'));
    const path = writeKubeconfig(
      join(conf, 'kubeconfig'),
      { server, 'certificate-authority': 'pki/ca.crt' },
      { 'client-certificate': 'pki/admin.crt', 'client-key': 'pki/admin.key' },
    );
    assert.deepEqual(await review(kubeconfigCredentials(path)), { authenticated: true, username: caller });
  });

  it('with a token file, and without the CA only when insecure-skip-tls-verify says so', async () => {
    const { server, caData } = adminKubeconfig();
    const conf = join(dir, 'token-file');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'token'), `${reviewerToken}\n`);
    const withCa = writeKubeconfig(join(conf, 'kubeconfig'), { server, 'certificate-authority-data': caData }, { tokenFile: 'token' });
    assert.deepEqual(await review(kubeconfigCredentials(withCa)), { authenticated: true, username: caller });

    const insecure = writeKubeconfig(join(conf, 'insecure'), { server, 'insecure-skip-tls-verify': true }, { tokenFile: 'token' });
    assert.deepEqual(await review(kubeconfigCredentials(insecure)), { authenticated: true, username: caller });
    const untrusted = writeKubeconfig(join(conf, 'untrusted'), { server }, { tokenFile: 'token' });
    await assert.rejects(review(kubeconfigCredentials(untrusted)), (err: NodeJS.ErrnoException) => {
      assert.match(String(err.code), /SELF_SIGNED|UNABLE_TO_/);
      return true;
    });
  });

  it('in cluster: KUBERNETES_SERVICE_HOST/PORT, ca.crt, and the token the kubelet replaces, presented on the next review', async (t) => {
    const url = new URL(kube().server);
    const sa = join(dir, 'serviceaccount');
    const caCrt = readFileSync(kube().caFile);
    const mount = (token: string) =>
      projectPayload(
        sa,
        new Map([
          ['token', Buffer.from(token)],
          ['ca.crt', caCrt],
        ]),
      );
    await mount(unboundToken);
    const credentials = inClusterCredentials({ env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port }, serviceAccountDir: sa });
    const client = new ApiServerClient(credentials);
    t.after(() => client.close());
    const reviewer = kubernetesTokenReviewer(client);

    // Authenticated as `unbound`, which may not create TokenReviews.
    await assert.rejects(reviewer.review(callerToken, [AUDIENCE]), (err) => err instanceof ApiServerStatusError && err.status === 403);
    await mount(reviewerToken);
    assert.deepEqual(await reviewer.review(callerToken, [AUDIENCE]), { authenticated: true, username: caller });
    await mount(unboundToken);
    await assert.rejects(reviewer.review(callerToken, [AUDIENCE]), (err) => err instanceof ApiServerStatusError && err.status === 403);
  });
});
