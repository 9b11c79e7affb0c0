// TokenRequest and TokenReview on the real API server, the way the verifier authenticates Kyverno
// (docs/architecture.md "The request pipeline"): a token
// bound to an audience passes a review for that audience only, a review without audiences checks the
// API server's own (--api-audiences), and the reviewer needs `create tokenreviews`
// (system:auth-delegator). TokenReviews here go through @kubernetes/client-node; the verifier's own client
// (verifier/src/auth/apiServer.ts) is tested on the same API server in its package.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException, AuthenticationV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig, type V1TokenReviewStatus } from '@kubernetes/client-node';
import { DEFAULT_ISSUER } from './controlPlane.js';
import { bindClusterRole, createServiceAccount as createSA, serviceAccountToken } from './serviceAccounts.js';
import { eventually, useTestControlPlane, withNamespace } from './testing.js';

/** Kyverno's scoped apiCall token audience (its chart's apiCallToken.audience default). */
const KYVERNO_AUDIENCE = 'kyverno-svc.kyverno.io';

const kube = useTestControlPlane({ shared: true });

const createServiceAccount = (namespace: string, name: string) => createSA(kube(), namespace, name);
const requestToken = (namespace: string, name: string, audiences?: string[]) => serviceAccountToken(kube(), namespace, name, audiences);

async function review(reviewer: KubeConfig, token: string, audiences?: string[]): Promise<V1TokenReviewStatus> {
  const result = await reviewer.makeApiClient(AuthenticationV1Api).createTokenReview({ body: { spec: { token, ...(audiences && { audiences }) } } });
  assert.ok(result.status, 'TokenReview returned no status');
  return result.status;
}

describe('TokenRequest and TokenReview', () => {
  it('authenticates a ServiceAccount token for its audience and rejects it for another', () =>
    withNamespace(kube(), async (ns) => {
      await createServiceAccount(ns, 'kyverno-admission-controller');
      const token = await requestToken(ns, 'kyverno-admission-controller', [KYVERNO_AUDIENCE]);
      const admin = kube().kubeConfig();

      const ok = await review(admin, token, [KYVERNO_AUDIENCE]);
      assert.equal(ok.authenticated, true, ok.error);
      assert.equal(ok.user?.username, `system:serviceaccount:${ns}:kyverno-admission-controller`);
      assert.deepEqual(ok.audiences, [KYVERNO_AUDIENCE]);
      assert.ok(ok.user.groups?.includes(`system:serviceaccounts:${ns}`), JSON.stringify(ok.user.groups));

      // `authenticated: false` is omitted on the wire (omitempty), hence `?? false`.
      const other = await review(admin, token, ['some-other-service']);
      assert.equal(other.authenticated ?? false, false);
      assert.match(other.error ?? '', /audience/i);

      // What the original service does (no spec.audiences): the API server's audiences apply, and a
      // Kyverno scoped token fails — the reason the verifier sends --tokenReviewAudiences.
      const defaulted = await review(admin, token);
      assert.equal(defaulted.authenticated ?? false, false);
    }));

  it('gives a token without audiences the API server audience, which a review without audiences accepts', () =>
    withNamespace(kube(), async (ns) => {
      await createServiceAccount(ns, 'legacy-client');
      const token = await requestToken(ns, 'legacy-client');
      const status = await review(kube().kubeConfig(), token);
      assert.equal(status.authenticated, true, status.error);
      assert.deepEqual(status.audiences, [DEFAULT_ISSUER]);
      assert.deepEqual(kube().apiAudiences, [DEFAULT_ISSUER]);
    }));

  it('issues the same kind of token with kubectl create token', () =>
    withNamespace(kube(), async (ns) => {
      await createServiceAccount(ns, 'cli');
      const token = (await kube().kubectl(['create', 'token', 'cli', '-n', ns, '--audience', KYVERNO_AUDIENCE, '--duration', '10m'])).stdout.trim();
      const status = await review(kube().kubeConfig(), token, [KYVERNO_AUDIENCE]);
      assert.equal(status.authenticated, true, status.error);
      assert.equal(status.user?.username, `system:serviceaccount:${ns}:cli`);
    }));

  it('lets a reviewer bound to system:auth-delegator review tokens, and forbids one that is not', () =>
    withNamespace(kube(), async (ns) => {
      await createServiceAccount(ns, 'verifier');
      await createServiceAccount(ns, 'unbound');
      await createServiceAccount(ns, 'kyverno');
      const binding = await bindClusterRole(kube(), ns, 'verifier', 'system:auth-delegator');
      const kyvernoToken = await requestToken(ns, 'kyverno', [KYVERNO_AUDIENCE]);
      try {
        // RBAC is evaluated from the authorizer's informer cache, so a new binding takes effect
        // asynchronously; a few quick retries cover that without a fixed sleep.
        const verifier = kube().kubeConfigForToken(await requestToken(ns, 'verifier'));
        const status = await eventually(() => review(verifier, kyvernoToken, [KYVERNO_AUDIENCE]), { timeoutMs: 60_000 });
        assert.equal(status.authenticated, true, status.error);
        assert.equal(status.user?.username, `system:serviceaccount:${ns}:kyverno`);

        const unbound = kube().kubeConfigForToken(await requestToken(ns, 'unbound'));
        await assert.rejects(review(unbound, kyvernoToken, [KYVERNO_AUDIENCE]), (err: unknown) => err instanceof ApiException && err.code === 403);
      } finally {
        await kube().kubeConfig().makeApiClient(RbacAuthorizationV1Api).deleteClusterRoleBinding({ name: binding });
      }
    }));

  it('stops authenticating a token once its ServiceAccount is deleted', () =>
    withNamespace(kube(), async (ns) => {
      await createServiceAccount(ns, 'short-lived');
      const token = await requestToken(ns, 'short-lived', [KYVERNO_AUDIENCE]);
      assert.equal((await review(kube().kubeConfig(), token, [KYVERNO_AUDIENCE])).authenticated, true);
      await kube().kubeConfig().makeApiClient(CoreV1Api).deleteNamespacedServiceAccount({ namespace: ns, name: 'short-lived' });
      // --service-account-lookup (on by default) checks that the ServiceAccount still exists, but the
      // API server caches a successful token authentication for 10 s, so the token keeps passing for up
      // to that long: a revocation lag the verifier's own TokenReview cache adds to.
      await eventually(
        async () => {
          const status = await review(kube().kubeConfig(), token, [KYVERNO_AUDIENCE]);
          assert.equal(status.authenticated ?? false, false);
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
    }));
});
