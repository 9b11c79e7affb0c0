// The verifier's caller authentication against a real kube-apiserver: Kyverno's scoped token
// (audience kyverno-svc.kyverno.io) passes only when the verifier reviews with that audience, only
// allowed users get through, and a verifier without `create tokenreviews` says what to bind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bindClusterRole, createServiceAccount, eventually, serviceAccountToken, useTestControlPlane, withNamespace } from '@kna/e2e';
import { RequestAuthenticator, kubernetesTokenReviewer } from './tokenReview.js';

const KYVERNO_AUDIENCE = 'kyverno-svc.kyverno.io';
const kube = useTestControlPlane({ shared: true });

async function newServiceAccountToken(namespace: string, name: string, audiences: string[]): Promise<string> {
  await createServiceAccount(kube(), namespace, name);
  return serviceAccountToken(kube(), namespace, name, audiences);
}

describe('TokenReview authentication on a real API server', () => {
  it("accepts Kyverno's scoped token for the configured audience and user, and only then", () =>
    withNamespace(kube(), async (ns) => {
      const kyverno = `system:serviceaccount:${ns}:kyverno-admission-controller`;
      const token = await newServiceAccountToken(ns, 'kyverno-admission-controller', [KYVERNO_AUDIENCE]);
      const other = await newServiceAccountToken(ns, 'someone-else', [KYVERNO_AUDIENCE]);
      const reviewer = kubernetesTokenReviewer(kube().kubeConfig());

      const scoped = new RequestAuthenticator({ reviewer, allowedUsers: [kyverno], audiences: [KYVERNO_AUDIENCE] });
      assert.equal(await scoped.authenticate(`Bearer ${token}`), kyverno);
      await assert.rejects(scoped.authenticate(`Bearer ${other}`), { code: 'VERIFIER_ERR_FORBIDDEN', message: new RegExp(`"system:serviceaccount:${ns}:someone-else" is not allowed`) });
      await assert.rejects(scoped.authenticate('Bearer not-a-token'), { code: 'VERIFIER_ERR_UNAUTHENTICATED' });

      // Without audiences the API server checks its own (the original's behaviour): the scoped token fails.
      const unscoped = new RequestAuthenticator({ reviewer, allowedUsers: [kyverno], audiences: [] });
      await assert.rejects(unscoped.authenticate(`Bearer ${token}`), { code: 'VERIFIER_ERR_UNAUTHENTICATED', message: /not accepted by TokenReview/ });
    }));

  it('names the missing system:auth-delegator binding when the verifier may not create TokenReviews', () =>
    withNamespace(kube(), async (ns) => {
      const token = await newServiceAccountToken(ns, 'kyverno-admission-controller', [KYVERNO_AUDIENCE]);
      const verifierToken = await newServiceAccountToken(ns, 'verifier', []);
      const asVerifier = kube().kubeConfigForToken(verifierToken);
      const authenticator = new RequestAuthenticator({ reviewer: kubernetesTokenReviewer(asVerifier), allowedUsers: ['x'], audiences: [KYVERNO_AUDIENCE] });
      await assert.rejects(authenticator.authenticate(`Bearer ${token}`), { code: 'VERIFIER_ERR_TOKEN_REVIEW', message: /bind its service account to system:auth-delegator/ });

      await bindClusterRole(kube(), ns, 'verifier', 'system:auth-delegator');
      const bound = new RequestAuthenticator({
        reviewer: kubernetesTokenReviewer(asVerifier),
        allowedUsers: [`system:serviceaccount:${ns}:kyverno-admission-controller`],
        audiences: [KYVERNO_AUDIENCE],
      });
      // The RBAC authorizer sees the new binding through its informer, a moment after the write.
      const user = await eventually(() => bound.authenticate(`Bearer ${token}`), { timeoutMs: 60_000 });
      assert.equal(user, `system:serviceaccount:${ns}:kyverno-admission-controller`);
    }));
});
