// The verifier's caller authentication against a real kube-apiserver: Kyverno's scoped token
// (audience kyverno-svc.kyverno.io) passes only when the verifier reviews with that audience, only
// allowed users get through, a verifier without `create tokenreviews` says what to bind, and the Helm
// chart's default flags accept the tokens of old and new Kyverno alike.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { bindClusterRole, createServiceAccount, eventually, kubeconfigYaml, serviceAccountToken, useTestControlPlane, withNamespace } from '@kna/e2e';
import { parseFlags } from '../config/flags.js';
import { ApiServerClient, kubeconfigCredentials } from './apiServer.js';
import { RequestAuthenticator, kubernetesTokenReviewer, type TokenReviewer } from './tokenReview.js';

const CHART = fileURLToPath(new URL('../../../charts/kyverno-notation-aws', import.meta.url));

const KYVERNO_AUDIENCE = 'kyverno-svc.kyverno.io';
const kube = useTestControlPlane({ shared: true });

/** A reviewer as the verifier makes one from a kubeconfig file: the admin's (client certificate), or one presenting `token`. */
function reviewerFromKubeconfig(t: TestContext, token?: string): TokenReviewer {
  let path = kube().kubeconfig;
  if (token !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'kna-token-review-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    path = join(dir, 'kubeconfig');
    writeFileSync(path, kubeconfigYaml({ server: kube().server, caPem: readFileSync(kube().caFile, 'utf8'), credentials: { token } }));
  }
  const apiServer = new ApiServerClient(kubeconfigCredentials(path));
  t.after(() => apiServer.close());
  return kubernetesTokenReviewer(apiServer);
}

async function newServiceAccountToken(namespace: string, name: string, audiences: string[]): Promise<string> {
  await createServiceAccount(kube(), namespace, name);
  return serviceAccountToken(kube(), namespace, name, audiences);
}

describe('TokenReview authentication on a real API server', () => {
  it("accepts Kyverno's scoped token for the configured audience and user, and only then", (t) =>
    withNamespace(kube(), async (ns) => {
      const kyverno = `system:serviceaccount:${ns}:kyverno-admission-controller`;
      const token = await newServiceAccountToken(ns, 'kyverno-admission-controller', [KYVERNO_AUDIENCE]);
      const other = await newServiceAccountToken(ns, 'someone-else', [KYVERNO_AUDIENCE]);
      const reviewer = reviewerFromKubeconfig(t);

      const scoped = new RequestAuthenticator({ reviewer, allowedUsers: [kyverno], audiences: [KYVERNO_AUDIENCE] });
      assert.equal(await scoped.authenticate(`Bearer ${token}`), kyverno);
      await assert.rejects(scoped.authenticate(`Bearer ${other}`), {
        code: 'VERIFIER_ERR_FORBIDDEN',
        message: new RegExp(`"system:serviceaccount:${ns}:someone-else" is not allowed`),
      });
      await assert.rejects(scoped.authenticate('Bearer not-a-token'), { code: 'VERIFIER_ERR_UNAUTHENTICATED' });

      // Without audiences the API server checks its own (the original's behaviour): the scoped token fails.
      const unscoped = new RequestAuthenticator({ reviewer, allowedUsers: [kyverno], audiences: [] });
      await assert.rejects(unscoped.authenticate(`Bearer ${token}`), { code: 'VERIFIER_ERR_UNAUTHENTICATED', message: /not accepted by TokenReview/ });
    }));

  it('names the missing system:auth-delegator binding when the verifier may not create TokenReviews', (t) =>
    withNamespace(kube(), async (ns) => {
      const token = await newServiceAccountToken(ns, 'kyverno-admission-controller', [KYVERNO_AUDIENCE]);
      const verifierToken = await newServiceAccountToken(ns, 'verifier', []);
      const asVerifier = reviewerFromKubeconfig(t, verifierToken);
      const authenticator = new RequestAuthenticator({ reviewer: asVerifier, allowedUsers: ['x'], audiences: [KYVERNO_AUDIENCE] });
      await assert.rejects(authenticator.authenticate(`Bearer ${token}`), {
        code: 'VERIFIER_ERR_TOKEN_REVIEW',
        message: /bind its service account to system:auth-delegator/,
      });

      await bindClusterRole(kube(), ns, 'verifier', 'system:auth-delegator');
      const bound = new RequestAuthenticator({
        reviewer: asVerifier,
        allowedUsers: [`system:serviceaccount:${ns}:kyverno-admission-controller`],
        audiences: [KYVERNO_AUDIENCE],
      });
      // The RBAC authorizer sees the new binding through its informer, a moment after the write.
      const user = await eventually(() => bound.authenticate(`Bearer ${token}`), { timeoutMs: 60_000 });
      assert.equal(user, `system:serviceaccount:${ns}:kyverno-admission-controller`);
    }));

  it("with --tokenReviewAPIServerAudience, accepts old Kyverno's ServiceAccount token and new Kyverno's scoped token", (t) =>
    withNamespace(kube(), async (ns) => {
      const kyverno = `system:serviceaccount:${ns}:kyverno-admission-controller`;
      await createServiceAccount(kube(), ns, 'kyverno-admission-controller');
      const scoped = await serviceAccountToken(kube(), ns, 'kyverno-admission-controller', [KYVERNO_AUDIENCE]);
      const legacy = await serviceAccountToken(kube(), ns, 'kyverno-admission-controller');
      const other = await serviceAccountToken(kube(), ns, 'kyverno-admission-controller', ['https://elsewhere.example']);
      const reviewer = reviewerFromKubeconfig(t);

      const both = new RequestAuthenticator({ reviewer, allowedUsers: [kyverno], audiences: [KYVERNO_AUDIENCE], apiServerAudience: true });
      assert.equal(await both.authenticate(`Bearer ${scoped}`), kyverno);
      assert.equal(await both.authenticate(`Bearer ${legacy}`), kyverno);
      await assert.rejects(both.authenticate(`Bearer ${other}`), {
        code: 'VERIFIER_ERR_UNAUTHENTICATED',
        message: /not accepted by TokenReview for audiences kyverno-svc\.kyverno\.io or the API server's/,
      });

      const scopedOnly = new RequestAuthenticator({ reviewer, allowedUsers: [kyverno], audiences: [KYVERNO_AUDIENCE] });
      await assert.rejects(scopedOnly.authenticate(`Bearer ${legacy}`), { code: 'VERIFIER_ERR_UNAUTHENTICATED' });
    }));

  it("the Helm chart's default flags accept both kinds of Kyverno token, from Kyverno's namespace and ServiceAccounts only", (t) =>
    withNamespace(kube(), async (ns) => {
      const rendered = await kube().helm(['template', 'kna', CHART, '--namespace', 'kna', '--set', `kyverno.namespace=${ns}`]);
      interface Doc {
        kind?: string;
        metadata?: { name?: string };
        spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } };
      }
      const docs = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as Doc | null);
      const deployment = docs.find((d) => d?.kind === 'Deployment' && d.metadata?.name === 'kna-kyverno-notation-aws-verifier');
      const args = deployment?.spec?.template?.spec?.containers?.[0]?.args;
      assert.ok(args, 'the chart renders a verifier Deployment with args');
      assert.equal(args[0], 'verifier');
      // Every argument is a flag the verifier knows (parseFlags throws on unknown ones).
      const { flags } = parseFlags(args.slice(1));
      assert.deepEqual(flags.allowedUsers, [
        `system:serviceaccount:${ns}:kyverno-admission-controller`,
        `system:serviceaccount:${ns}:kyverno-reports-controller`,
      ]);

      for (const sa of ['kyverno-admission-controller', 'kyverno-reports-controller', 'kyverno-cleanup-controller']) await createServiceAccount(kube(), ns, sa);
      const authenticator = new RequestAuthenticator({
        reviewer: reviewerFromKubeconfig(t),
        allowedUsers: flags.allowedUsers,
        audiences: flags.tokenReviewAudiences,
        apiServerAudience: flags.tokenReviewAPIServerAudience,
      });
      for (const sa of ['kyverno-admission-controller', 'kyverno-reports-controller']) {
        for (const audiences of [[KYVERNO_AUDIENCE], []]) {
          const token = await serviceAccountToken(kube(), ns, sa, audiences);
          assert.equal(await authenticator.authenticate(`Bearer ${token}`), `system:serviceaccount:${ns}:${sa}`);
        }
      }
      const cleanup = await serviceAccountToken(kube(), ns, 'kyverno-cleanup-controller', [KYVERNO_AUDIENCE]);
      await assert.rejects(authenticator.authenticate(`Bearer ${cleanup}`), { code: 'VERIFIER_ERR_FORBIDDEN' });
    }));
});
